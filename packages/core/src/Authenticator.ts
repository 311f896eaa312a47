/**
 * Bearer keys to tenants. The default reads keys from `IDENTIFY_FACE_API_KEYS` and compares the
 * presented key with every configured one, each in a time that depends on the lengths only.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { UnauthorizedError } from "./Errors.js"
import { equalInConstantTime, sha256, toHex } from "./internal/bytes.js"

/** Who made a request: tasks and videos are visible to their tenant only. */
export interface Tenant {
  readonly id: string
}

/** Authenticates requests. */
export interface AuthenticatorService {
  /** The tenant of an `Authorization` header value, or 401. */
  readonly authenticate: (authorization: string | null) => Effect.Effect<Tenant, UnauthorizedError>
}

/** The authenticator in use. */
export class Authenticator extends Context.Tag("@identify-face/core/Authenticator")<Authenticator, AuthenticatorService>() {}

const encoder = new TextEncoder()

/**
 * The tenant of a key of {@link fromKeys}, e.g. to tell that tenant its webhook secret
 * (`Webhooks.tenantSecret`).
 */
export const tenantOf = (key: string): Effect.Effect<Tenant> =>
  Effect.map(sha256(encoder.encode(key.trim())), (digest) => ({ id: `tenant_${toHex(digest).slice(0, 16)}` }))

const missing = new UnauthorizedError({ message: "an Authorization: Bearer <key> header is required" })
const wrong = new UnauthorizedError({ message: "the API key is not valid" })

/** Reads the bearer token of an `Authorization` header value. */
export const bearerToken = (authorization: string | null): string | undefined => {
  const match = authorization === null ? null : /^Bearer[ ]+([\x21-\x7e]{1,512})\s*$/i.exec(authorization)
  return match?.[1]
}

/**
 * An authenticator for a fixed list of keys. A tenant's id is derived from its key's digest, so
 * the key itself is never stored in a task or written to a log.
 */
export const fromKeys = (keys: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const valid = keys.map((key) => key.trim()).filter((key) => key.length > 0)
    if (valid.length === 0) return yield* Effect.dieMessage("identify-face: at least one API key is required")
    // Every poll is authenticated: a digest of the presented key each time (a round trip to the
    // crypto thread pool, 50-140 µs measured) was the dearest part of answering one. The bytes are
    // compared instead, every key every time, so the timing tells a caller at most the keys'
    // lengths, never their content.
    const keyTenants = yield* Effect.forEach(valid, (key) => Effect.map(tenantOf(key), (tenant) => ({ bytes: encoder.encode(key), tenant })))
    return {
      authenticate: (authorization) => {
        const token = bearerToken(authorization)
        if (token === undefined) return Effect.fail(authorization === null ? missing : wrong)
        const presented = encoder.encode(token)
        let found: Tenant | undefined
        for (const { bytes, tenant } of keyTenants) {
          // No early exit: every key is compared whatever matched.
          if (equalInConstantTime(bytes, presented)) found = tenant
        }
        return found === undefined ? Effect.fail(wrong) : Effect.succeed(found)
      }
    } satisfies AuthenticatorService
  })

/** Splits the comma-separated `IDENTIFY_FACE_API_KEYS` value. */
export const parseKeys = (value: string | undefined): ReadonlyArray<string> =>
  (value ?? "").split(",").map((key) => key.trim()).filter((key) => key.length > 0)

/** An authenticator for a fixed list of keys, as a layer. */
export const layerKeys = (keys: ReadonlyArray<string>): Layer.Layer<Authenticator> => Layer.effect(Authenticator, fromKeys(keys))
