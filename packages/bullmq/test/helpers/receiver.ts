/**
 * A `callback_url` receiver on 127.0.0.1: it keeps every request it gets and answers each as the
 * test says, by the request's `webhook-id` and how many of that id it has had.
 */
import { createServer } from "node:http"
import type { IncomingHttpHeaders, ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/** How to answer a request: 204, 503, or never (the connection stays open until closed). */
export type Answer = "ok" | "fail" | "hang"

/** A request the receiver got. */
export interface Received {
  readonly id: string
  readonly headers: IncomingHttpHeaders
  /** The raw body. */
  readonly body: string
  readonly answer: Answer
}

/** A running receiver. */
export interface Receiver {
  /** `127.0.0.1:<port>`, as `URL.host`. */
  readonly host: string
  /** The callback URL of this receiver. */
  readonly url: string
  /** Every request so far, in order. */
  readonly received: () => ReadonlyArray<Received>
  /** Resolves once `done` holds of the requests so far; rejects after `timeoutMs`. */
  readonly waitFor: (done: (received: ReadonlyArray<Received>) => boolean, timeoutMs?: number) => Promise<ReadonlyArray<Received>>
  readonly close: () => Promise<void>
}

/** Starts a receiver; `answer` gets the `webhook-id` and the number of requests of that id, this one included. */
export const startReceiver = async (answer: (id: string, nth: number) => Answer = () => "ok"): Promise<Receiver> => {
  const received: Array<Received> = []
  const hanging = new Set<ServerResponse>()
  const listeners = new Set<() => void>()
  const server = createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const id = String(request.headers["webhook-id"] ?? "")
      const how = answer(id, received.filter((earlier) => earlier.id === id).length + 1)
      received.push({ id, headers: request.headers, body: Buffer.concat(chunks).toString("utf8"), answer: how })
      if (how === "ok") response.writeHead(204).end()
      else if (how === "fail") response.writeHead(503).end("not now")
      else hanging.add(response)
      for (const listener of listeners) listener()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    host,
    url: `http://${host}/callback`,
    received: () => [...received],
    waitFor: (done, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (!done(received)) return
          clearTimeout(timer)
          listeners.delete(check)
          resolve([...received])
        }
        const timer = setTimeout(() => {
          listeners.delete(check)
          reject(new Error(`the receiver did not get what was awaited within ${timeoutMs} ms; it got ${JSON.stringify(received.map((one) => [one.id, one.answer]))}`))
        }, timeoutMs)
        listeners.add(check)
        check()
      }),
    close: async () => {
      for (const response of hanging) response.destroy()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
