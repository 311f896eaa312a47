/**
 * The settings of the worker and the API node, from environment variables. A wrong value throws
 * at start, naming the variable.
 */
import type { RedisOptions } from "@identify-face/bullmq/RedisConnection"

type Env = Readonly<Record<string, string | undefined>>

const refuse = (name: string, what: string, value: string): never => {
  throw new Error(`identify-face: ${name} must be ${what}, got ${JSON.stringify(value)}`)
}

/** A whole number of at least `min` from `name`, or `fallback` when unset. */
export const integer = (env: Env, name: string, fallback: number, min = 1): number => {
  const value = env[name]
  if (value === undefined || value === "") return fallback
  const parsed = Number(value)
  return Number.isSafeInteger(parsed) && parsed >= min ? parsed : refuse(name, `an integer from ${min}`, value)
}

/** One of `choices` from `name`; the first when unset. */
export const choice = <const C extends string>(env: Env, name: string, choices: readonly [C, ...Array<C>]): C => {
  const value = env[name]
  if (value === undefined || value === "") return choices[0]
  return (choices as ReadonlyArray<string>).includes(value) ? (value as C) : refuse(name, `one of ${choices.join(", ")}`, value)
}

/** `IDENTIFY_FACE_REDIS_URL` (default `redis://127.0.0.1:6379`) and `IDENTIFY_FACE_REDIS_PREFIX`. */
export const redis = (env: Env): RedisOptions => ({
  url: env.IDENTIFY_FACE_REDIS_URL || "redis://127.0.0.1:6379",
  prefix: env.IDENTIFY_FACE_REDIS_PREFIX || undefined
})

/**
 * `IDENTIFY_FACE_ALLOW_CALLBACK_HOSTS`: comma-separated `host:port`s (as `URL.host`) a
 * `callback_url` may name although they are local, for tests on loopback; unset, none. Never set
 * it in production: it opens the SSRF guard to those hosts.
 */
export const allowCallbackHost = (env: Env): ((host: string) => boolean) | undefined => {
  const hosts = (env.IDENTIFY_FACE_ALLOW_CALLBACK_HOSTS ?? "").split(",").map((host) => host.trim()).filter((host) => host !== "")
  return hosts.length === 0 ? undefined : (host) => hosts.includes(host)
}
