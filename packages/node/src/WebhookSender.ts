/**
 * Sends `callback_url` deliveries from Node under the SSRF rules of `video_url`: http(s) only, no
 * credentials, every address the host resolves to checked at connect time, no redirect followed
 * (a 3xx is a failed attempt), and time limits on connecting and on the answer. A 2xx answer is a
 * delivery; its body is not read.
 *
 *     Server.layer({ config: { publicUrl }, webhooks: { secret, sender: WebhookSender.layer() } })
 *
 * @since 0.1.0
 */
import { checkCallbackUrl } from "@identify-face/core/TaskNotifier"
import { WebhookDeliveryError, WebhookSender } from "@identify-face/core/Webhooks"
import type { WebhookSenderService } from "@identify-face/core/Webhooks"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { allowedAddresses, guardedRequest, systemResolve } from "./internal/intake/guardedRequest.js"
import type { GuardedRequestOptions, Resolver } from "./internal/intake/guardedRequest.js"

/** How long an attempt may take; one over either fails and is retried. */
export interface WebhookSenderTimeouts {
  /** To a connected socket, name resolution included. Default 5 seconds. */
  readonly connect?: Duration.DurationInput | undefined
  /** From the connection to the response head, the request body included. Default 15 seconds. */
  readonly response?: Duration.DurationInput | undefined
}

/** Options of {@link make}. */
export interface WebhookSenderOptions {
  readonly timeouts?: WebhookSenderTimeouts | undefined
  /**
   * Hosts (`host[:port]`, as `URL.host`) let through although they are local, addresses
   * included: for tests on loopback. Give the same to `webhooks.allowHost`.
   */
  readonly allowHost?: ((host: string) => boolean) | undefined
  /** Resolved IP addresses let through although they are not public: for tests on loopback. */
  readonly allowAddress?: ((address: string) => boolean) | undefined
  /** Resolves a host name to all its addresses. Default: the system resolver (`dns.lookup`). */
  readonly resolve?: Resolver | undefined
}

const FIELD = "callback_url"

/** A sender of callbacks for `Server.layer({ webhooks: { sender } })`. */
export const make = (options: WebhookSenderOptions = {}): WebhookSenderService => {
  const connectTimeoutMs = Duration.toMillis(Duration.decode(options.timeouts?.connect ?? "5 seconds"))
  const headersTimeoutMs = Duration.toMillis(Duration.decode(options.timeouts?.response ?? "15 seconds"))

  const requestOptions = (url: URL): GuardedRequestOptions => ({
    field: FIELD,
    resolve: options.resolve ?? systemResolve,
    allowAddress: allowedAddresses(url, options),
    connectTimeoutMs,
    headersTimeoutMs
  })

  return {
    send: (raw, headers, body) =>
      Effect.gen(function* () {
        const url = yield* Either.mapLeft(
          checkCallbackUrl(raw, options.allowHost),
          (refused) => new WebhookDeliveryError({ reason: "Refused", message: refused.message })
        )
        const response = yield* guardedRequest(url, requestOptions(url), {
          method: "POST",
          headers: { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) },
          body
        }).pipe(
          Effect.mapError(
            (error) =>
              new WebhookDeliveryError({ reason: error._tag === "VideoUrlRefusedError" ? "Refused" : "Unreachable", message: error.message })
          )
        )
        const status = response.statusCode ?? 0
        if (status < 200 || status >= 300) {
          return yield* Effect.fail(new WebhookDeliveryError({ reason: "Rejected", message: `${FIELD} answered HTTP ${status}`, status }))
        }
      }).pipe(Effect.scoped)
  }
}

/** The sender as a layer. */
export const layer = (options: WebhookSenderOptions = {}): Layer.Layer<WebhookSender> => Layer.succeed(WebhookSender, make(options))
