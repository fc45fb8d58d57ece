/**
 * A typed REST client for the aiclone API: openapi-fetch over the types generated from the
 * server's OpenAPI document (`src/generated/openapi.d.ts`, see `npm run generate`). Paths,
 * parameters, bodies and responses are checked by the compiler; problems (4xx/5xx) come back in
 * `error` as RFC 9457 problem details.
 *
 *   const api = createApiClient({ baseUrl: "https://api.example.com", token: () => session.accessToken });
 *   const { data, error } = await api.GET("/api/prospects", { params: { query: { limit: 20 } } });
 */
import createClient from "openapi-fetch";
import type { Client, ClientOptions } from "openapi-fetch";

import type { components, operations, paths, webhooks } from "./generated/openapi.js";

export type { components, operations, paths, webhooks };

/** Every schema of the document by name: `Schemas["ProspectRead"]`. */
export type Schemas = components["schemas"];

/** An RFC 9457 problem, as every error response carries it. */
export type Problem = components["schemas"]["Problem"];

export type ApiClient = Client<paths>;

export interface ApiClientOptions extends ClientOptions {
  /** Origin of the server, e.g. `https://api.example.com` (paths already start with `/api`). */
  baseUrl: string;
  /** The access token, or a function returning the current one; sent as `Authorization: Bearer`. */
  token?: string | (() => string | null | undefined | Promise<string | null | undefined>);
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const { token, ...rest } = options;
  const client = createClient<paths>(rest);
  if (token !== undefined) {
    client.use({
      async onRequest({ request }) {
        const value = typeof token === "function" ? await token() : token;
        if (value && !request.headers.has("Authorization")) {
          request.headers.set("Authorization", `Bearer ${value}`);
        }
        return request;
      },
    });
  }
  return client;
}
