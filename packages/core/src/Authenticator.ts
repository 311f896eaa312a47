/**
 * Bearer keys to tenants. The default reads keys from `IDENTIFY_FACE_API_KEYS` and compares in
 * constant time: digests of equal length, every configured key compared every time.
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

const digest = (text: string) => sha256(encoder.encode(text))

const tenantOfDigest = (keyDigest: Uint8Array): Tenant => ({ id: `tenant_${toHex(keyDigest).slice(0, 16)}` })

/**
 * The tenant of a key of {@link fromKeys}, e.g. to tell that tenant its webhook secret
 * (`Webhooks.tenantSecret`).
 */
export const tenantOf = (key: string): Effect.Effect<Tenant> => Effect.map(digest(key.trim()), tenantOfDigest)

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
    const digests = yield* Effect.forEach(valid, digest)
    return {
      authenticate: (authorization) =>
        Effect.gen(function* () {
          const token = bearerToken(authorization)
          if (token === undefined) return yield* Effect.fail(authorization === null ? missing : wrong)
          const presented = yield* digest(token)
          let found: Uint8Array | undefined
          for (const candidate of digests) {
            // No early exit: every key is compared whatever matched.
            if (equalInConstantTime(candidate, presented)) found = candidate
          }
          return found === undefined ? yield* Effect.fail(wrong) : tenantOfDigest(found)
        })
    } satisfies AuthenticatorService
  })

/** Splits the comma-separated `IDENTIFY_FACE_API_KEYS` value. */
export const parseKeys = (value: string | undefined): ReadonlyArray<string> =>
  (value ?? "").split(",").map((key) => key.trim()).filter((key) => key.length > 0)

/** An authenticator for a fixed list of keys, as a layer. */
export const layerKeys = (keys: ReadonlyArray<string>): Layer.Layer<Authenticator> => Layer.effect(Authenticator, fromKeys(keys))
