/**
 * Fetches `video_url`s for the default video source, safe against server-side request forgery:
 * http(s) only, no credentials, every address the host resolves to checked at connect time, at
 * most 3 redirects (each checked again), timeouts on every phase, and the size cap enforced while
 * the body streams to a temporary file that lives as long as the scope.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import { mkdir } from "node:fs/promises"
import { join } from "node:path"
import { checkUrl } from "@identify-face/core/AddressGuard"
import { defaults } from "@identify-face/core/Config"
import { VideoFetchHttpError, VideoUrlUnreachableError } from "@identify-face/core/Errors"
import type { VideoError } from "@identify-face/core/Errors"
import type { UrlFetcher, Video } from "@identify-face/core/VideoSource"
import { tooLarge } from "@identify-face/core/VideoStore"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { fileStream, removeFile, writeCapped } from "./internal/intake/files.js"
import { fromReadable } from "./internal/intake/readable.js"
import { allowedAddresses, guardedRequest, systemResolve } from "./internal/intake/guardedRequest.js"
import type { GuardedRequestOptions, Resolver } from "./internal/intake/guardedRequest.js"

/** How long each phase of a fetch may take. */
export interface UrlFetcherTimeouts {
  /** To a connected socket, name resolution included. Default 10 seconds. */
  readonly connect?: Duration.DurationInput | undefined
  /** From the connection to the response head. Default 15 seconds. */
  readonly headers?: Duration.DurationInput | undefined
  /** The longest pause between two chunks of the body. Default 15 seconds. */
  readonly idle?: Duration.DurationInput | undefined
  /** The whole fetch, redirects and body included. Default 2 minutes. */
  readonly total?: Duration.DurationInput | undefined
}

/** Options of {@link make}. */
export interface UrlFetcherOptions {
  /** Fetched videos are written under `<dataDir>/fetched/` and deleted when their scope closes. */
  readonly dataDir: string
  /** The largest body accepted. Default: the configured `maxVideoBytes` default, 100 MB. */
  readonly maxBytes?: number | undefined
  /** How many redirects are followed; one more fails with 014002105. Default 3. */
  readonly maxRedirects?: number | undefined
  /** Each phase's limit; a fetch over any fails with 014002105. */
  readonly timeouts?: UrlFetcherTimeouts | undefined
  /**
   * Hosts (`host[:port]`, as `URL.host`) let through although they are local, addresses
   * included: for tests on loopback. Pass the same function to the video source.
   */
  readonly allowHost?: ((host: string) => boolean) | undefined
  /** Resolved IP addresses let through although they are not public: for tests on loopback. */
  readonly allowAddress?: ((address: string) => boolean) | undefined
  /** Resolves a host name to all its addresses. Default: the system resolver (`dns.lookup`). */
  readonly resolve?: Resolver | undefined
}

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])

const durationOr = (input: Duration.DurationInput | undefined, fallback: Duration.DurationInput) =>
  Duration.decode(input ?? fallback)

const unreachable = (message: string) => new VideoUrlUnreachableError({ message })

type Hop = { readonly _tag: "Redirect"; readonly location: string } | { readonly _tag: "Body"; readonly bytes: number }

/** A fetcher of `video_url`s for `VideoSource.layer({ fetchUrl })`. */
export const make = (options: UrlFetcherOptions): UrlFetcher => {
  const maxBytes = options.maxBytes ?? defaults.maxVideoBytes
  const maxRedirects = options.maxRedirects ?? 3
  const connectTimeoutMs = Duration.toMillis(durationOr(options.timeouts?.connect, "10 seconds"))
  const headersTimeoutMs = Duration.toMillis(durationOr(options.timeouts?.headers, "15 seconds"))
  const idle = durationOr(options.timeouts?.idle, "15 seconds")
  const total = durationOr(options.timeouts?.total, "2 minutes")
  const allowHost = options.allowHost ?? (() => false)
  const directory = join(options.dataDir, "fetched")

  const requestOptions = (url: URL): GuardedRequestOptions => ({
    field: "video_url",
    resolve: options.resolve ?? systemResolve,
    allowAddress: allowedAddresses(url, options),
    connectTimeoutMs,
    headersTimeoutMs
  })

  /** One request: a redirect to follow, or the body written to `path`. */
  const fetchHop = (url: URL, path: string): Effect.Effect<Hop, VideoError, Scope.Scope> =>
    Effect.gen(function* () {
      const response = yield* guardedRequest(url, requestOptions(url), { method: "GET", headers: { accept: "video/*, */*;q=0.5" } })
      const status = response.statusCode ?? 0
      const location = response.headers.location
      if (REDIRECT_STATUSES.has(status) && location !== undefined) {
        return { _tag: "Redirect", location: URL.canParse(location, url) ? new URL(location, url).href : location } as const
      }
      if (status < 200 || status >= 300) {
        return yield* Effect.fail(new VideoFetchHttpError({ message: `fetching video_url answered HTTP ${status}` }))
      }
      if (Number(response.headers["content-length"] ?? 0) > maxBytes) return yield* Effect.fail(tooLarge(maxBytes))
      const body = fromReadable<VideoError>(() => response, () =>
        unreachable("video_url is unreachable: the connection broke while the body was read")
      ).pipe(
        Stream.timeoutFail(() => unreachable(`video_url is unreachable: no data for ${Duration.format(idle)}`), idle)
      )
      return { _tag: "Body", bytes: yield* writeCapped(body, path, maxBytes) } as const
    })

  const download = (first: URL, path: string): Effect.Effect<number, VideoError> =>
    Effect.gen(function* () {
      let url = yield* checkUrl(first.href, allowHost)
      for (let redirects = 0; ; redirects++) {
        const hop = yield* Effect.scoped(fetchHop(url, path))
        if (hop._tag === "Body") return hop.bytes
        if (redirects === maxRedirects) {
          return yield* Effect.fail(unreachable(`video_url is unreachable: more than ${maxRedirects} redirects`))
        }
        url = yield* checkUrl(hop.location, allowHost)
      }
    })

  return (url) =>
    Effect.gen(function* () {
      yield* Effect.promise(() => mkdir(directory, { recursive: true }))
      const path = join(directory, randomUUID())
      yield* Effect.addFinalizer(() => removeFile(path))
      const bytes = yield* download(url, path).pipe(
        Effect.timeoutFail({
          duration: total,
          onTimeout: () => unreachable(`video_url is unreachable: the fetch took longer than ${Duration.format(total)}`)
        })
      )
      return { bytes, path, stream: fileStream(path) } satisfies Video
    })
}
