import { existsSync } from "node:fs"
import { readdir } from "node:fs/promises"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as UrlFetcher from "../src/UrlFetcher.js"
import type { UrlFetcherOptions } from "../src/UrlFetcher.js"
import { tempDir } from "./support/tempDir.js"

const VIDEO = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) % 251)

interface TestServer {
  readonly port: number
  readonly origin: string
  /** TCP connections accepted so far. */
  readonly connections: () => number
  /** Request paths seen so far. */
  readonly paths: ReadonlyArray<string>
}

/** The routes every test server answers. */
const route = (request: http.IncomingMessage, response: http.ServerResponse) => {
  const path = request.url ?? "/"
  const redirect = /^\/redirect\/(\d+)$/.exec(path)
  const status = /^\/status\/(\d+)$/.exec(path)
  if (path === "/video") {
    response.writeHead(200, { "content-type": "video/mp4", "content-length": VIDEO.byteLength }).end(VIDEO)
  } else if (redirect) {
    const left = Number(redirect[1])
    response.writeHead(302, { location: left === 1 ? "/video" : `/redirect/${left - 1}` }).end()
  } else if (path.startsWith("/to/")) {
    response.writeHead(302, { location: decodeURIComponent(path.slice("/to/".length)) }).end()
  } else if (status) {
    response.writeHead(Number(status[1])).end("no")
  } else if (path === "/hang") {
    // Never answers.
  } else if (path === "/stall") {
    response.writeHead(200, { "content-type": "video/mp4" })
    response.write(VIDEO.subarray(0, 10))
  } else if (path === "/truncated") {
    response.writeHead(200, { "content-type": "video/mp4", "content-length": 1_000 })
    response.write(VIDEO.subarray(0, 100), () => response.destroy())
  } else if (path === "/trickle") {
    response.writeHead(200, { "content-type": "video/mp4" })
    const timer = setInterval(() => response.write(VIDEO.subarray(0, 1)), 20)
    response.on("close", () => clearInterval(timer))
  } else if (path === "/declared-large") {
    // Declares more than the cap and sends nothing: reading the body would hang.
    response.writeHead(200, { "content-type": "video/mp4", "content-length": 2_000 }).flushHeaders()
  } else if (path === "/chunked-large") {
    response.writeHead(200, { "content-type": "video/mp4" })
    let sent = 0
    const timer = setInterval(() => {
      if (sent++ === 20) return response.end()
      response.write(VIDEO.subarray(0, 500))
    }, 2)
    response.on("close", () => clearInterval(timer))
  } else {
    response.writeHead(404).end()
  }
}

/** A real server on 127.0.0.1, closed with the scope. */
const serve = Effect.acquireRelease(
  Effect.async<{ readonly server: http.Server; readonly info: TestServer }>((resume) => {
    const paths: Array<string> = []
    let connections = 0
    const server = http.createServer((request, response) => {
      paths.push(request.url ?? "/")
      route(request, response)
    })
    server.on("connection", () => connections++)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port
      resume(Effect.succeed({ server, info: { port, origin: `http://127.0.0.1:${port}`, connections: () => connections, paths } }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
).pipe(Effect.map(({ info }) => info))

/** The files the fetcher left in its data dir. */
const leftovers = (dataDir: string) =>
  Effect.promise(() => readdir(join(dataDir, "fetched")).catch(() => []))

/** A server, a data dir and a fetcher that may reach that server only. */
const setup = (options: Partial<UrlFetcherOptions> = {}) =>
  Effect.gen(function* () {
    const server = yield* serve
    const dataDir = yield* tempDir("fetch")
    const fetch = UrlFetcher.make({ dataDir, allowHost: (host) => host === `127.0.0.1:${server.port}`, ...options })
    return { server, dataDir, fetch }
  })

const fetchError = (fetch: ReturnType<typeof UrlFetcher.make>, url: string) => Effect.flip(Effect.scoped(fetch(new URL(url))))

const collect = (stream: Stream.Stream<Uint8Array, unknown>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat(Chunk.toArray(chunks)))

describe("UrlFetcher", () => {
  it.scopedLive("streams the body to a temp file that is removed when the scope closes", () =>
    Effect.gen(function* () {
      const { server, dataDir, fetch } = yield* setup()
      const path = yield* Effect.scoped(
        Effect.gen(function* () {
          const video = yield* fetch(new URL(`${server.origin}/video`))
          expect(video.bytes).toBe(VIDEO.byteLength)
          expect(video.path?.startsWith(join(dataDir, "fetched"))).toBe(true)
          expect(existsSync(video.path ?? "")).toBe(true)
          expect(Buffer.compare(yield* collect(video.stream), Buffer.from(VIDEO))).toBe(0)
          return video.path ?? ""
        })
      )
      expect(existsSync(path)).toBe(false)
    }))

  it.scopedLive("connects to exactly the address its resolver answered and the guard checked", () =>
    Effect.gen(function* () {
      const resolved: Array<string> = []
      const { server, fetch } = yield* setup({
        allowHost: undefined,
        allowAddress: (address) => address === "127.0.0.1",
        resolve: (host) => {
          resolved.push(host)
          return Promise.resolve(["127.0.0.1"])
        }
      })
      const video = yield* fetch(new URL(`http://videos.example.com:${server.port}/video`))
      expect(video.bytes).toBe(VIDEO.byteLength)
      expect(resolved).toEqual(["videos.example.com"])
      expect(server.connections()).toBe(1)
    }))

  describe("the address guard, without an allow option", () => {
    it.scopedLive("refuses loopback, link-local and their numeric disguises before connecting", () =>
      Effect.gen(function* () {
        const server = yield* serve
        const fetch = UrlFetcher.make({ dataDir: yield* tempDir("fetch") })
        const urls = [
          `http://127.0.0.1:${server.port}/video`,
          `http://[::1]:${server.port}/video`,
          `http://0x7f000001:${server.port}/video`,
          `http://2130706433:${server.port}/video`,
          `http://[::ffff:127.0.0.1]:${server.port}/video`,
          "http://169.254.169.254/latest/meta-data/",
          `http://localhost:${server.port}/video`
        ]
        for (const url of urls) expect((yield* fetchError(fetch, url)).code, url).toBe("014002104")
        expect(server.connections()).toBe(0)
      }))

    it.scopedLive("refuses other schemes and credentials", () =>
      Effect.gen(function* () {
        const fetch = UrlFetcher.make({ dataDir: yield* tempDir("fetch") })
        for (const url of ["ftp://example.com/clip.mp4", "file:///etc/passwd", "http://user:secret@example.com/clip.mp4"]) {
          expect((yield* fetchError(fetch, url)).code, url).toBe("014002104")
        }
      }))

    it.scopedLive("refuses a name that resolves to a private address, or to any private one among public ones", () =>
      Effect.gen(function* () {
        const server = yield* serve
        const dataDir = yield* tempDir("fetch")
        const answers = [["127.0.0.1"], ["::1"], ["10.0.0.5"], ["169.254.169.254"], ["93.184.216.34", "127.0.0.1"]]
        for (const answer of answers) {
          const fetch = UrlFetcher.make({ dataDir, resolve: () => Promise.resolve(answer) })
          const error = yield* fetchError(fetch, `http://videos.example.com:${server.port}/video`)
          expect(error.code, answer.join()).toBe("014002104")
        }
        expect(server.connections()).toBe(0)
      }))
  })

  describe("redirects", () => {
    it.scopedLive("follows 3 redirects", () =>
      Effect.gen(function* () {
        const { server, fetch } = yield* setup()
        const video = yield* fetch(new URL(`${server.origin}/redirect/3`))
        expect(video.bytes).toBe(VIDEO.byteLength)
        expect(server.paths).toEqual(["/redirect/3", "/redirect/2", "/redirect/1", "/video"])
      }))

    it.scopedLive("fails a 4th redirect with 014002105", () =>
      Effect.gen(function* () {
        const { server, fetch } = yield* setup()
        expect((yield* fetchError(fetch, `${server.origin}/redirect/4`)).code).toBe("014002105")
        expect(server.paths).not.toContain("/video")
      }))

    it.scopedLive("refuses a redirect to a private address, a private name, another scheme or credentials", () =>
      Effect.gen(function* () {
        const other = yield* serve
        const { server, fetch } = yield* setup({ resolve: () => Promise.resolve(["127.0.0.1"]) })
        const targets = [
          `${other.origin}/video`,
          `http://internal.example.com:${server.port}/video`,
          "ftp://example.com/clip.mp4",
          `http://user:secret@127.0.0.1:${server.port}/video`
        ]
        for (const target of targets) {
          expect((yield* fetchError(fetch, `${server.origin}/to/${encodeURIComponent(target)}`)).code, target).toBe("014002104")
        }
        expect(other.connections()).toBe(0)
        expect(server.paths).not.toContain("/video")
      }))
  })

  describe("timeouts and unreachable hosts (014002105)", () => {
    const timeouts = { connect: "300 millis", headers: "300 millis", idle: "300 millis", total: "5 seconds" } as const

    it.scopedLive("times out a name that does not resolve in time", () =>
      Effect.gen(function* () {
        const { fetch } = yield* setup({ timeouts, resolve: () => new Promise(() => undefined) })
        expect((yield* fetchError(fetch, "http://slow-dns.example.com/video")).code).toBe("014002105")
      }))

    it.scopedLive("fails a name that does not resolve", () =>
      Effect.gen(function* () {
        const notFound = Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" })
        const { fetch } = yield* setup({ resolve: () => Promise.reject(notFound) })
        const error = yield* fetchError(fetch, "http://no-such-host.example.com/video")
        expect(error.code).toBe("014002105")
        expect(error.message).toContain("could not be resolved")
      }))

    it.scopedLive("times out a server that sends no response head", () =>
      Effect.gen(function* () {
        const { server, fetch } = yield* setup({ timeouts })
        expect((yield* fetchError(fetch, `${server.origin}/hang`)).code).toBe("014002105")
      }))

    const bodyFailures = [
      { what: "times out a body that stops", path: "/stall", message: "no data for" },
      { what: "fails a body cut short by the server", path: "/truncated", message: "broke" },
      { what: "times out a fetch that takes too long in all", path: "/trickle", message: "longer than" }
    ]
    for (const { what, path, message } of bodyFailures) {
      it.scopedLive(`${what}, leaving no file`, () =>
        Effect.gen(function* () {
          const { server, dataDir, fetch } = yield* setup({ timeouts: { ...timeouts, total: "700 millis" } })
          const error = yield* fetchError(fetch, `${server.origin}${path}`)
          expect(error.code).toBe("014002105")
          expect(error.message).toContain(message)
          expect(yield* leftovers(dataDir)).toEqual([])
        }))
    }

    it.scopedLive("fails a refused connection", () =>
      Effect.gen(function* () {
        const closed = yield* Effect.scoped(serve)
        const fetch = UrlFetcher.make({ dataDir: yield* tempDir("fetch"), allowHost: () => true })
        expect((yield* fetchError(fetch, `${closed.origin}/video`)).code).toBe("014002105")
      }))
  })

  it.scopedLive("fails HTTP error statuses with 014002097 and the status", () =>
    Effect.gen(function* () {
      const { server, fetch } = yield* setup()
      for (const status of [404, 500]) {
        const error = yield* fetchError(fetch, `${server.origin}/status/${status}`)
        expect(error.code).toBe("014002097")
        expect(error.message).toContain(String(status))
      }
    }))

  describe("the size cap (014002111)", () => {
    it.scopedLive("refuses a Content-Length over the cap before reading the body", () =>
      Effect.gen(function* () {
        const { server, dataDir, fetch } = yield* setup({ maxBytes: 1_000 })
        expect((yield* fetchError(fetch, `${server.origin}/declared-large`)).code).toBe("014002111")
        expect(yield* leftovers(dataDir)).toEqual([])
      }))

    it.scopedLive("stops a chunked body at the cap and deletes the partial file", () =>
      Effect.gen(function* () {
        const { server, dataDir, fetch } = yield* setup({ maxBytes: 1_000 })
        expect((yield* fetchError(fetch, `${server.origin}/chunked-large`)).code).toBe("014002111")
        expect(yield* leftovers(dataDir)).toEqual([])
      }))

    it.scopedLive("accepts a body of exactly the cap", () =>
      Effect.gen(function* () {
        const { server, fetch } = yield* setup({ maxBytes: VIDEO.byteLength })
        expect((yield* fetch(new URL(`${server.origin}/video`))).bytes).toBe(VIDEO.byteLength)
      }))
  })
})
