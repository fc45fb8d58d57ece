/**
 * `useEventStream`: a React hook over {@link EventStream}. React is not imported: the app passes
 * its React (or any object with the same hooks), so this module has no runtime dependency.
 *
 *   import * as React from "react";
 *   const { status, lastEvent, subscribe } = useEventStream(React, { url, getTicket });
 */
import { EventStream } from "./eventStream.js";
import type { EventListener, EventStreamOptions, Status, StreamEvent } from "./eventStream.js";

/** The hooks used, as React declares them (structurally). */
export interface ReactHooks {
  useState<S>(initial: S | (() => S)): [S, (value: S | ((prev: S) => S)) => void];
  useEffect(effect: () => void | (() => void), deps?: readonly unknown[]): void;
  useRef<T>(initial: T): { current: T };
  useCallback<T extends (...args: never[]) => unknown>(callback: T, deps: readonly unknown[]): T;
}

export interface UseEventStreamResult {
  status: Status;
  lastEvent: StreamEvent | null;
  /** Adds a listener for every event of the current stream; returns the unsubscribe function. */
  subscribe: (listener: EventListener) => () => void;
}

/**
 * Opens a stream while the component is mounted. The stream is recreated when `url`, `types`
 * or `withCredentials` change; `getTicket` and the other callbacks are read on use.
 */
export function useEventStream(react: ReactHooks, options: EventStreamOptions): UseEventStreamResult {
  const [status, setStatus] = react.useState<Status>("connecting");
  const [lastEvent, setLastEvent] = react.useState<StreamEvent | null>(null);
  const optionsRef = react.useRef(options);
  optionsRef.current = options;
  const listeners = react.useRef(new Set<EventListener>());
  const typesKey = options.types ? options.types.join(",") : "";

  react.useEffect(() => {
    const current = optionsRef.current;
    const stream = new EventStream({
      ...current,
      getTicket: current.getTicket ? () => optionsRef.current.getTicket!() : undefined,
      onError: (error) => optionsRef.current.onError?.(error),
    });
    const offStatus = stream.onStatus((next) => setStatus(next));
    const offEvents = stream.subscribe((event) => {
      setLastEvent(event);
      for (const listener of [...listeners.current]) listener(event);
    });
    stream.start();
    return () => {
      offStatus();
      offEvents();
      stream.close();
    };
  }, [options.url, typesKey, options.withCredentials ?? false]);

  const subscribe = react.useCallback((listener: EventListener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);

  return { status, lastEvent, subscribe };
}

/** Binds {@link useEventStream} to one React: `const useStream = createUseEventStream(React)`. */
export function createUseEventStream(react: ReactHooks): (options: EventStreamOptions) => UseEventStreamResult {
  return (options) => useEventStream(react, options);
}
