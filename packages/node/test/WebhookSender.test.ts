/**
 * The Node callback sender against real receivers on 127.0.0.1: delivery and its signature, the
 * SSRF rules before and at connect time, no redirect followed, time limits; and the whole server
 * delivering a finished task.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import * as Authenticator from "@identify-face/core/Authenticator"
import * as Client from "@identify-face/core/Client"
import { FaceAnalyzer } from "@identify-face/core/FaceAnalyzer"
import * as Server from "@identify-face/core/Server"
import * as Webhooks from "@identify-face/core/Webhooks"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as WebhookSender from "../src/WebhookSender.js"
import type { WebhookSenderOptions } from "../src/WebhookSender.js"

/** A request the receiver got. */
interface Received {
  readonly method: string
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

interface Receiver {
  readonly port: number
  readonly origin: string
  readonly received: ReadonlyArray<Received>
  /** TCP connections accepted so far. */
  readonly connections: () => number
}

/** Answers by path: `/ok` 204, `/status/<n>`, `/redirect` to `/ok`, `/hang` never. */
const answer = (path: string, response: http.ServerResponse) => {
  const status = /^\/status\/(\d+)$/.exec(path)
  if (path === "/ok") response.writeHead(204).end()
  else if (status) response.writeHead(Number(status[1])).end("no")
  else if (path === "/redirect") response.writeHead(307, { location: "/ok" }).end()
  else if (path !== "/hang") response.writeHead(404).end()
}

/** A receiver on 127.0.0.1, closed with the scope. */
const receiver = Effect.acquireRelease(
  Effect.async<{ readonly server: http.Server; readonly info: Receiver }>((resume) => {
    const received: Array<Received> = []
    let connections = 0
    const server = http.createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        const path = request.url ?? "/"
        received.push({ method: request.method ?? "", path, headers: request.headers, body: Buffer.concat(chunks).toString("utf8") })
        answer(path, response)
      })
    })
    server.on("connection", () => connections++)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port
      resume(Effect.succeed({ server, info: { port, origin: `http://127.0.0.1:${port}`, received, connections: () => connections } }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
).pipe(Effect.map(({ info }) => info))

const secret = Webhooks.generateSecret()
const body = JSON.stringify({ id: "task_1", status: "completed" })

/** Signs `body` now and sends it to `url`. */
const sendTo = (url: string, options: WebhookSenderOptions) =>
  Effect.flatMap(Webhooks.sign({ id: "task_1", timestamp: Date.now() / 1000, body, secret }), (headers) =>
    WebhookSender.make(options).send(url, headers, body)
  )

/** The guard opened for the receiver's host only. */
const openedFor = (server: Receiver): WebhookSenderOptions => ({ allowHost: (host) => host === `127.0.0.1:${server.port}` })

describe("WebhookSender", () => {
  it.scopedLive("POSTs the signed body to a receiver on loopback when the guard is opened for it; 2xx is delivered", () =>
    Effect.gen(function* () {
      const server = yield* receiver
      yield* sendTo(`${server.origin}/ok`, openedFor(server))
      expect(server.received).toHaveLength(1)
      const [request] = server.received
      expect(request).toMatchObject({ method: "POST", path: "/ok", body })
      expect(request?.headers["content-type"]).toBe("application/json")
      expect(request?.headers["content-length"]).toBe(String(Buffer.byteLength(body)))
      const payload = yield* Webhooks.verify({ headers: request?.headers ?? {}, body: request?.body ?? "", secret })
      expect(payload).toEqual(JSON.parse(body))
    }))

  it.scopedLive("refuses a receiver on a private address without the allow option, before and at connect time", () =>
    Effect.gen(function* () {
      const server = yield* receiver
      const literal = yield* Effect.flip(sendTo(`${server.origin}/ok`, {}))
      expect(literal).toMatchObject({ _tag: "WebhookDeliveryError", reason: "Refused" })
      expect(literal.message).toMatch(/^callback_url refused: /)

      // A public-looking name that resolves to loopback is refused by the lookup hook.
      const resolve = () => Promise.resolve(["127.0.0.1"])
      const named = yield* Effect.flip(sendTo(`http://hooks.example.com:${server.port}/ok`, { resolve }))
      expect(named).toMatchObject({ reason: "Refused", message: "callback_url refused: it resolves to 127.0.0.1, not a public address" })
      expect(server.connections()).toBe(0)

      // Opened for that address, the same name is delivered.
      yield* sendTo(`http://hooks.example.com:${server.port}/ok`, { resolve, allowAddress: (address) => address === "127.0.0.1" })
      expect(server.received).toHaveLength(1)
    }))

  it.scopedLive("follows no redirect: a 3xx, like any answer but 2xx, is a rejection with its status", () =>
    Effect.gen(function* () {
      const server = yield* receiver
      const redirected = yield* Effect.flip(sendTo(`${server.origin}/redirect`, openedFor(server)))
      expect(redirected).toMatchObject({ reason: "Rejected", status: 307 })
      expect(server.received.map((request) => request.path)).toEqual(["/redirect"])
      const failed = yield* Effect.flip(sendTo(`${server.origin}/status/500`, openedFor(server)))
      expect(failed).toMatchObject({ reason: "Rejected", status: 500, message: "callback_url answered HTTP 500" })
    }))

  it.scopedLive("gives up on a receiver that does not answer in time", () =>
    Effect.gen(function* () {
      const server = yield* receiver
      const started = Date.now()
      const slow = yield* Effect.flip(sendTo(`${server.origin}/hang`, { ...openedFor(server), timeouts: { response: "200 millis" } }))
      expect(slow).toMatchObject({ reason: "Unreachable", message: "callback_url is unreachable: no response within 200 ms" })
      expect(Date.now() - started).toBeLessThan(2_000)
    }))

  it.scopedLive("with the server: a task's callback reaches the receiver, verifiable with its tenant's secret", () =>
    Effect.gen(function* () {
      const server = yield* receiver
      const serverSecret = Webhooks.generateSecret()
      const allowHost = (host: string) => host === `127.0.0.1:${server.port}`
      const analyzer = Layer.succeed(FaceAnalyzer, {
        analyze: () => Effect.succeed({ metadata: { duration_ms: 3000, width: 1280, height: 720, fps: 30, format: "mp4" }, faces: [], timings: {} })
      })
      const handler = Server.makeWebHandler(
        Server.layerMemory({
          apiKeys: ["key-a"],
          config: { publicUrl: "https://api.example.com" },
          fetchUrl: () => Effect.succeed({ bytes: 1, path: undefined, stream: Stream.make(new Uint8Array([0])) }),
          webhooks: { secret: serverSecret, allowHost, sender: WebhookSender.layer({ allowHost }) }
        }).pipe(Layer.provide(analyzer))
      )
      yield* Effect.addFinalizer(() => Effect.promise(handler.dispose))
      const created = yield* Effect.promise(() =>
        handler.handle(
          new Request("http://localhost/model/v1/generation", {
            method: "POST",
            headers: { authorization: "Bearer key-a", "content-type": "application/json" },
            body: JSON.stringify({ model: "kirin_identify_face", video_url: "https://videos.example.com/a.mp4", callback_url: `${server.origin}/ok` })
          })
        )
      )
      expect(created.status).toBe(200)
      yield* Effect.sleep("10 millis").pipe(Effect.repeat({ until: () => server.received.length > 0, times: 300 }))
      const [request] = server.received
      const tenantSecret = yield* Webhooks.tenantSecret(serverSecret, (yield* Authenticator.tenantOf("key-a")).id)
      const task = yield* Effect.promise(() =>
        Client.verifyWebhookPromise({ headers: request?.headers ?? {}, body: request?.body ?? "" }, tenantSecret)
      )
      expect(task).toMatchObject({ status: "completed", id: request?.headers["webhook-id"] })
    }))
})
