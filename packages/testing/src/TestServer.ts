/**
 * The whole API in memory with the scripted analyzer and video source: as a layer for Effect
 * tests, or as a fake server on loopback HTTP to point a client at.
 *
 * @since 0.1.0
 */
import type { HttpApiServices } from "@identify-face/core/HttpApi"
import { serve } from "@identify-face/core/NodeHttp"
import * as Server from "@identify-face/core/Server"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as TestAnalyzer from "./TestAnalyzer.js"
import * as TestVideoSource from "./TestVideoSource.js"

/** The key of the fake server when none are given. */
export const DEFAULT_API_KEY = "test-key"

/** The double's settings. */
export interface TestServerOptions extends Server.ServerOptions {
  /** The bearer keys, one tenant each. Default `[DEFAULT_API_KEY]`. */
  readonly apiKeys?: ReadonlyArray<string>
  /** Which analysis plays for which video. Default: one face, 0 to 5000 ms, after 50 ms. */
  readonly analyzer?: TestAnalyzer.TestAnalyzerOptions
  /** What `video_url`s serve; a URL without a script serves its own text. */
  readonly urls?: TestVideoSource.UrlScripts
}

/**
 * The API over the double: everything in memory, scripted analysis, no network. It suggests
 * polling every 10 ms (`config.pollHint`), so a client waits for a result no longer than the script.
 */
export const layer = (options: TestServerOptions = {}): Layer.Layer<HttpApiServices> =>
  Server.layerMemory({
    ...options,
    config: { pollHint: Duration.millis(10), ...options.config },
    apiKeys: options.apiKeys ?? [DEFAULT_API_KEY],
    fetchUrl: TestVideoSource.make(options.urls)
  }).pipe(Layer.provide(TestAnalyzer.layer(options.analyzer)))

/** A server listening on loopback. */
export interface Listening {
  /** Its base URL, e.g. `http://127.0.0.1:54321`. */
  readonly url: string
  /** Stops listening and drops open connections. */
  readonly close: () => Promise<void>
}

/** Serves a Node request listener (an Express app, say) on `127.0.0.1` at a free port. */
export const listen = async (listener: Http.RequestListener): Promise<Listening> => {
  const server = Http.createServer(listener)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections()
      return new Promise<void>((resolve, reject) => server.close((error) => (error === undefined ? resolve() : reject(error))))
    }
  }
}

/** A running fake server. */
export interface StartedServer extends Listening {
  /** The first API key. */
  readonly apiKey: string
  readonly apiKeys: ReadonlyArray<string>
}

/** Starts the double on real HTTP at `127.0.0.1` on a free port; `close()` also disposes the API. */
export const startServer = async (options: TestServerOptions = {}): Promise<StartedServer> => {
  const apiKeys = options.apiKeys ?? [DEFAULT_API_KEY]
  const handler = await Server.makeWebHandlerReady(layer({ ...options, apiKeys }))
  const server = await listen((incoming, outgoing) => {
    const url = `http://${incoming.headers.host ?? "127.0.0.1"}${incoming.url ?? "/"}`
    serve(incoming, outgoing, url, (request) => handler.handle(request)).catch(() => outgoing.destroy())
  })
  return {
    url: server.url,
    apiKey: apiKeys[0] ?? DEFAULT_API_KEY,
    apiKeys,
    close: () => server.close().then(handler.dispose)
  }
}
