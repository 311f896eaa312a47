/**
 * What every framework adapter (Express, Hono) shares: its options, checked once when the
 * adapter is built, and the refusal of a request whose body another middleware already read.
 *
 * @since 0.1.0
 */
import * as Layer from "effect/Layer"
import { InvalidConfigError } from "./Config.js"
import type { HttpApiServices } from "./HttpApi.js"
import { makeWebHandler } from "./Server.js"
import type { WebHandler } from "./Server.js"

/**
 * What an adapter serves: the API's services as a layer (the adapter builds them and `close()`
 * releases them), or a web handler you made and dispose of yourself.
 */
export type AdapterOptions =
  | { readonly layer: Layer.Layer<HttpApiServices, unknown> }
  | { readonly handler: WebHandler }

/** An adapter's handler, and how to release what the adapter built. */
export interface Mount {
  readonly handler: WebHandler
  /** Disposes the handler built from `layer`; a `handler` passed in is left to its owner. */
  readonly close: () => Promise<void>
}

const describe = (value: unknown) => (value === null ? "null" : Array.isArray(value) ? "an array" : typeof value)

const isWebHandler = (value: unknown): value is WebHandler =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as WebHandler).handle === "function" &&
  typeof (value as WebHandler).dispose === "function"

/**
 * Checks an adapter's options and makes its handler. Throws {@link InvalidConfigError}, naming
 * `adapter`, on anything but exactly one of a `layer` (an Effect `Layer`) and a `handler` (from
 * `Server.makeWebHandler`), and on unknown keys, so a typo fails at start-up.
 */
export const mount = (adapter: string, options: AdapterOptions): Mount => {
  const refuse = (why: string) => new InvalidConfigError(`${adapter}: ${why}`)
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw refuse(`options must be an object with a layer or a handler, got ${describe(options)}`)
  }
  const unknown = Object.keys(options).filter((key) => key !== "layer" && key !== "handler")
  if (unknown.length > 0) throw refuse(`unknown option ${unknown.join(", ")}; the options are layer or handler`)
  if ("layer" in options && "handler" in options) throw refuse("give a layer or a handler, not both")
  if ("layer" in options) {
    if (!Layer.isLayer(options.layer)) throw refuse(`layer must be an Effect Layer of the API's services, got ${describe(options.layer)}`)
    const handler = makeWebHandler(options.layer)
    return { handler, close: handler.dispose }
  }
  if ("handler" in options) {
    if (!isWebHandler(options.handler)) throw refuse("handler must be a WebHandler from Server.makeWebHandler")
    return { handler: options.handler, close: () => Promise.resolve() }
  }
  throw refuse("give a layer (e.g. Server.layerMemory(...)) or a handler (Server.makeWebHandler(...))")
}

/**
 * A request reached the API after another middleware read its body (a body parser mounted
 * before it): the body cannot be read again, so the adapter refuses rather than answer wrongly.
 */
export class BodyAlreadyReadError extends Error {
  override readonly name = "BodyAlreadyReadError"
  constructor(adapter: string) {
    super(`${adapter}: the request body was already read by another middleware; mount identify-face before body parsers`)
  }
}
