/**
 * The API on a real node:http server on 127.0.0.1: node requests become web `Request`s for
 * `Server.makeWebHandler` and its `Response`s are written back, with the core's NodeHttp.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type { HttpApiServices } from "../../src/HttpApi.js"
import { toRequest, writeResponse } from "../../src/NodeHttp.js"
import * as Server from "../../src/Server.js"

/** Serves the API built from `services` for the length of the scope; answers its base URL. */
export const serve = <E>(services: Layer.Layer<HttpApiServices, E>) =>
  Effect.acquireRelease(
    Effect.async<{ readonly baseUrl: string; readonly close: () => Promise<void> }>((resume) => {
      const handler = Server.makeWebHandler(services)
      const server = createServer((req, res) => {
        const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`)
        handler.handle(toRequest(req, url.href)).then((response) => writeResponse(response, res), () => res.destroy())
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        const close = () => {
          server.closeAllConnections()
          return new Promise<void>((done) => server.close(() => done())).then(handler.dispose)
        }
        resume(Effect.succeed({ baseUrl: `http://127.0.0.1:${port}`, close }))
      })
    }),
    ({ close }) => Effect.promise(close)
  ).pipe(Effect.map(({ baseUrl }) => baseUrl))
