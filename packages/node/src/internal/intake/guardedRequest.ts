/**
 * One HTTP request whose socket can only reach addresses the guard allows. The host name is
 * resolved by a `lookup` hook on the request itself, so the address checked is the address
 * connected to: a DNS answer that changes between a check and the connection (rebinding) cannot
 * slip through. Redirects are not followed here: the caller decides.
 */
import type { LookupAddress, LookupOptions } from "node:dns"
import { lookup } from "node:dns/promises"
import * as http from "node:http"
import type { IncomingMessage } from "node:http"
import * as https from "node:https"
import { isIP } from "node:net"
import type { LookupFunction } from "node:net"
import { isPublicAddress } from "@identify-face/core/AddressGuard"
import { VideoUrlRefusedError, VideoUrlUnreachableError } from "@identify-face/core/Errors"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** Resolves a host name to all its IP addresses. */
export type Resolver = (hostname: string) => Promise<ReadonlyArray<string>>

/** The system resolver (`dns.lookup`), every address. */
export const systemResolve: Resolver = (hostname) =>
  lookup(hostname, { all: true }).then((entries) => entries.map((entry) => entry.address))

/** Where the guard opens beyond public addresses: for tests on loopback. */
export interface GuardOpenings {
  /** Hosts (`host[:port]`, as `URL.host`) let through although they are local, addresses included. */
  readonly allowHost?: ((host: string) => boolean) | undefined
  /** Resolved IP addresses let through although they are not public. */
  readonly allowAddress?: ((address: string) => boolean) | undefined
}

/** The addresses a request to `url` may connect to: public ones, and those the openings allow. */
export const allowedAddresses = (url: URL, openings: GuardOpenings): ((address: string) => boolean) => {
  const hostAllowed = openings.allowHost?.(url.host) ?? false
  return (address) => hostAllowed || isPublicAddress(address) || (openings.allowAddress?.(address) ?? false)
}

/** How a request connects and how long it waits. */
export interface GuardedRequestOptions {
  /** The URL's name in messages: `video_url`, `callback_url`. */
  readonly field: string
  readonly resolve: Resolver
  /** Whether the socket may connect to this IP address. */
  readonly allowAddress: (address: string) => boolean
  /** From the start to a connected socket, name resolution included. */
  readonly connectTimeoutMs: number
  /** From a connected socket to the response head, the request body included. */
  readonly headersTimeoutMs: number
}

/** What a request sends. */
export interface Outgoing {
  readonly method: "GET" | "POST"
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string | undefined
}

/** A resolved address the guard refused; raised from the lookup hook, so nothing is connected. */
class AddressRefused extends Error {}

/** A phase of the request took too long. */
class PhaseTimeout extends Error {}

const unbracket = (host: string) => (host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host)

const refusal = (field: string, address: string) => new AddressRefused(`${field} refused: it resolves to ${address}, not a public address`)

/**
 * A `lookup` for `net.connect` that resolves every address of the host and fails if any one is
 * refused, so a host cannot mix a public address with a private one.
 */
const guardedLookup = (options: GuardedRequestOptions): LookupFunction =>
  (hostname: string, lookupOptions: LookupOptions, callback) => {
    options.resolve(hostname).then(
      (resolved) => {
        const refused = resolved.find((address) => !options.allowAddress(address))
        if (refused !== undefined) return callback(refusal(options.field, refused), "")
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

const toFetchError = (field: string, error: unknown): VideoUrlRefusedError | VideoUrlUnreachableError => {
  if (error instanceof AddressRefused) return new VideoUrlRefusedError({ message: error.message })
  if (error instanceof PhaseTimeout) return new VideoUrlUnreachableError({ message: error.message })
  const code = (error as NodeJS.ErrnoException).code
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_FAIL" || code === "ENODATA") {
    return new VideoUrlUnreachableError({ message: `${field} is unreachable: its host name could not be resolved` })
  }
  return new VideoUrlUnreachableError({ message: `${field} is unreachable: ${code ?? "the connection failed"}` })
}

/**
 * Sends a request to a checked URL and waits for the response head. An IP-literal host is
 * checked here (no lookup runs for it); a name is checked by the lookup hook at connect time. The
 * response is destroyed when the scope closes, read or not.
 */
export const guardedRequest = (
  url: URL,
  options: GuardedRequestOptions,
  outgoing: Outgoing
): Effect.Effect<IncomingMessage, VideoUrlRefusedError | VideoUrlUnreachableError, Scope.Scope> => {
  const literal = unbracket(url.hostname)
  if (isIP(literal) !== 0 && !options.allowAddress(literal)) return Effect.fail(toFetchError(options.field, refusal(options.field, literal)))
  return Effect.uninterruptibleMask((restore) =>
    restore(
      Effect.async<IncomingMessage, VideoUrlRefusedError | VideoUrlUnreachableError>((resume) => {
        const client = url.protocol === "https:" ? https : http
        // No agent: a fresh socket per request, so every connection goes through the lookup hook.
        const request = client.request(url, {
          method: outgoing.method,
          agent: false,
          lookup: guardedLookup(options),
          headers: { "user-agent": "identify-face", ...outgoing.headers }
        })
        let timer = setTimeout(
          () => request.destroy(new PhaseTimeout(`${options.field} is unreachable: no connection within ${options.connectTimeoutMs} ms`)),
          options.connectTimeoutMs
        )
        request.on("socket", (socket) =>
          socket.once("connect", () => {
            clearTimeout(timer)
            timer = setTimeout(
              () => request.destroy(new PhaseTimeout(`${options.field} is unreachable: no response within ${options.headersTimeoutMs} ms`)),
              options.headersTimeoutMs
            )
          })
        )
        // Kept for the request's whole life: a late error must not go unhandled.
        request.on("error", (error) => {
          clearTimeout(timer)
          resume(Effect.fail(toFetchError(options.field, error)))
        })
        request.on("response", (response) => {
          clearTimeout(timer)
          resume(Effect.succeed(response))
        })
        request.end(outgoing.body)
        return Effect.sync(() => {
          clearTimeout(timer)
          request.destroy()
        })
      })
    ).pipe(Effect.tap((response) => Effect.addFinalizer(() => Effect.sync(() => response.destroy()))))
  )
}
