/**
 * One HTTP GET whose socket can only reach addresses the guard allows. The host name is resolved
 * by a `lookup` hook on the request itself, so the address checked is the address connected to:
 * a DNS answer that changes between a check and the connection (rebinding) cannot slip through.
 */
import type { LookupAddress, LookupOptions } from "node:dns"
import * as http from "node:http"
import type { IncomingMessage } from "node:http"
import * as https from "node:https"
import { isIP } from "node:net"
import type { LookupFunction } from "node:net"
import { VideoUrlRefusedError, VideoUrlUnreachableError } from "@identify-face/core/Errors"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** Resolves a host name to all its IP addresses. */
export type Resolver = (hostname: string) => Promise<ReadonlyArray<string>>

/** How a request connects and how long it waits. */
export interface GuardedRequestOptions {
  readonly resolve: Resolver
  /** Whether the socket may connect to this IP address. */
  readonly allowAddress: (address: string) => boolean
  /** From the start to a connected socket, name resolution included. */
  readonly connectTimeoutMs: number
  /** From a connected socket to the response head. */
  readonly headersTimeoutMs: number
}

/** A resolved address the guard refused; raised from the lookup hook, so nothing is connected. */
class AddressRefused extends Error {}

/** A phase of the request took too long. */
class PhaseTimeout extends Error {}

const unbracket = (host: string) => (host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host)

const refusal = (address: string) => new AddressRefused(`video_url refused: it resolves to ${address}, not a public address`)

/**
 * A `lookup` for `net.connect` that resolves every address of the host and fails if any one is
 * refused, so a host cannot mix a public address with a private one.
 */
const guardedLookup = (options: GuardedRequestOptions): LookupFunction =>
  (hostname: string, lookupOptions: LookupOptions, callback) => {
    options.resolve(hostname).then(
      (resolved) => {
        const refused = resolved.find((address) => !options.allowAddress(address))
        if (refused !== undefined) return callback(refusal(refused), "")
        const family = lookupOptions.family === "IPv4" ? 4 : lookupOptions.family === "IPv6" ? 6 : lookupOptions.family
        const addresses: Array<LookupAddress> = resolved
          .map((address) => ({ address, family: isIP(address) }))
          .filter((entry) => entry.family !== 0 && (family === undefined || family === 0 || entry.family === family))
        const first = addresses[0]
        if (first === undefined) {
          return callback(Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND" }), "")
        }
        return lookupOptions.all === true ? callback(null, addresses) : callback(null, first.address, first.family)
      },
      (error: NodeJS.ErrnoException) => callback(error, "")
    )
  }

const unreachable = (message: string) => new VideoUrlUnreachableError({ message })

const toFetchError = (error: unknown): VideoUrlRefusedError | VideoUrlUnreachableError => {
  if (error instanceof AddressRefused) return new VideoUrlRefusedError({ message: error.message })
  if (error instanceof PhaseTimeout) return unreachable(error.message)
  const code = (error as NodeJS.ErrnoException).code
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_FAIL" || code === "ENODATA") {
    return unreachable("video_url is unreachable: its host name could not be resolved")
  }
  return unreachable(`video_url is unreachable: ${code ?? "the connection failed"}`)
}

/**
 * Sends a GET to a checked URL and waits for the response head. An IP-literal host is checked
 * here (no lookup runs for it); a name is checked by the lookup hook at connect time. The
 * response is destroyed when the scope closes, read or not.
 */
export const guardedGet = (
  url: URL,
  options: GuardedRequestOptions
): Effect.Effect<IncomingMessage, VideoUrlRefusedError | VideoUrlUnreachableError, Scope.Scope> => {
  const literal = unbracket(url.hostname)
  if (isIP(literal) !== 0 && !options.allowAddress(literal)) return Effect.fail(toFetchError(refusal(literal)))
  return Effect.uninterruptibleMask((restore) =>
    restore(
      Effect.async<IncomingMessage, VideoUrlRefusedError | VideoUrlUnreachableError>((resume) => {
        const client = url.protocol === "https:" ? https : http
        // No agent: a fresh socket per request, so every connection goes through the lookup hook.
        const request = client.request(url, {
          agent: false,
          lookup: guardedLookup(options),
          headers: { accept: "video/*, */*;q=0.5", "user-agent": "identify-face" }
        })
        let timer = setTimeout(
          () => request.destroy(new PhaseTimeout(`video_url is unreachable: no connection within ${options.connectTimeoutMs} ms`)),
          options.connectTimeoutMs
        )
        request.on("socket", (socket) =>
          socket.once("connect", () => {
            clearTimeout(timer)
            timer = setTimeout(
              () => request.destroy(new PhaseTimeout(`video_url is unreachable: no response within ${options.headersTimeoutMs} ms`)),
              options.headersTimeoutMs
            )
          })
        )
        // Kept for the request's whole life: a late error must not go unhandled.
        request.on("error", (error) => {
          clearTimeout(timer)
          resume(Effect.fail(toFetchError(error)))
        })
        request.on("response", (response) => {
          clearTimeout(timer)
          resume(Effect.succeed(response))
        })
        request.end()
        return Effect.sync(() => {
          clearTimeout(timer)
          request.destroy()
        })
      })
    ).pipe(Effect.tap((response) => Effect.addFinalizer(() => Effect.sync(() => response.destroy()))))
  )
}
