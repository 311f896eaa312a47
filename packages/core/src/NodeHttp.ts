/**
 * Node's `http` request and response to and from web `Request` and `Response`, for the adapters
 * that sit on `node:http` (Express, the test double's server). Typed by the members it uses, so
 * the core imports nothing of Node.
 *
 * @since 0.1.0
 */

/** What is read of a Node `IncomingMessage`. */
export interface IncomingMessageLike {
  readonly method?: string | undefined
  readonly rawHeaders: ReadonlyArray<string>
  on(event: "data", listener: (chunk: Uint8Array) => void): unknown
  on(event: "end", listener: () => void): unknown
  on(event: "error", listener: (error: Error) => void): unknown
  pause(): unknown
  resume(): unknown
}

/** What is written of a Node `ServerResponse`. */
export interface ServerResponseLike {
  statusCode: number
  setHeader(name: string, value: string | ReadonlyArray<string>): unknown
  write(chunk: Uint8Array): boolean
  end(): unknown
  once(event: "drain" | "close", listener: () => void): unknown
  readonly destroyed: boolean
  destroy(error?: Error): unknown
}

/**
 * The body of an incoming message as a web stream, read only as fast as it is consumed. When the
 * reader stops early (a body over its cap), the rest is read and dropped rather than the socket
 * destroyed, so the answer still reaches the client.
 */
const bodyStream = (incoming: IncomingMessageLike): ReadableStream<Uint8Array> => {
  let open = true
  return new ReadableStream<Uint8Array>({
    start(controller) {
      incoming.pause()
      incoming.on("data", (chunk) => {
        if (!open) return
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
        if ((controller.desiredSize ?? 0) <= 0) incoming.pause()
      })
      incoming.on("end", () => {
        if (open) controller.close()
        open = false
      })
      incoming.on("error", (error) => {
        if (open) controller.error(error)
        open = false
      })
    },
    pull() {
      incoming.resume()
    },
    cancel() {
      open = false
      incoming.resume()
    }
  })
}

/** A web `Request` for an incoming message at `url` (absolute); the body is streamed, not buffered. */
export const toRequest = (incoming: IncomingMessageLike, url: string): Request => {
  const method = incoming.method ?? "GET"
  const headers = new Headers()
  for (let i = 0; i + 1 < incoming.rawHeaders.length; i += 2) {
    headers.append(incoming.rawHeaders[i] ?? "", incoming.rawHeaders[i + 1] ?? "")
  }
  const hasBody = method !== "GET" && method !== "HEAD"
  // `duplex` is how a streamed request body is declared; the DOM typings do not know it yet.
  const init: RequestInit & { duplex?: "half" } = hasBody ? { method, headers, body: bodyStream(incoming), duplex: "half" } : { method, headers }
  return new Request(url, init)
}

const drained = (outgoing: ServerResponseLike) =>
  new Promise<void>((resolve) => {
    outgoing.once("drain", resolve)
    outgoing.once("close", resolve)
  })

/**
 * Writes a web `Response` to a Node response: status, headers, then the body as it streams, with
 * backpressure. Stops reading the body when the client goes away.
 */
export const writeResponse = async (response: Response, outgoing: ServerResponseLike): Promise<void> => {
  outgoing.statusCode = response.status
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") outgoing.setHeader(name, value)
  })
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) outgoing.setHeader("set-cookie", cookies)
  if (response.body === null) {
    outgoing.end()
    return
  }
  const reader = response.body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!outgoing.write(value)) await drained(outgoing)
      if (outgoing.destroyed) {
        await reader.cancel()
        return
      }
    }
    outgoing.end()
  } catch (error) {
    outgoing.destroy(error instanceof Error ? error : new Error(String(error)))
  }
}

/**
 * Hands one Node request to a web handler: the body is streamed to it, not buffered, and a body
 * it did not read is dropped once it answers, so a refusal (401, 413) reaches a client that is
 * still sending. For servers that write the response themselves (`@hono/node-server`).
 */
export const handleIncoming = async (
  incoming: IncomingMessageLike,
  url: string,
  handle: (request: Request) => Promise<Response>
): Promise<Response> => {
  const request = toRequest(incoming, url)
  return handle(request).finally(() => {
    if (request.body !== null && !request.body.locked) return request.body.cancel()
  })
}

/**
 * Answers one Node request with a web handler: {@link handleIncoming}, then the answer streamed
 * back. Rejects only when `handle` does.
 */
export const serve = async (
  incoming: IncomingMessageLike,
  outgoing: ServerResponseLike,
  url: string,
  handle: (request: Request) => Promise<Response>
): Promise<void> => writeResponse(await handleIncoming(incoming, url, handle), outgoing)
