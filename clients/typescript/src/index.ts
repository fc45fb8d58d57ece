/** The aiclone SDK: the typed REST client and the live event stream. */
export * from "./client.js";
export * from "./eventStream.js";
