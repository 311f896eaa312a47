/**
 * Bearer keys to tenants.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Authenticator from "../src/Authenticator.js"

const keys = ["key-alpha-123", "key-beta-456"]

describe("Authenticator.fromKeys", () => {
  it.effect("gives each key a stable tenant id that does not contain the key", () =>
    Effect.gen(function* () {
      const auth = yield* Authenticator.fromKeys(keys)
      const alpha = yield* auth.authenticate("Bearer key-alpha-123")
      const beta = yield* auth.authenticate("Bearer key-beta-456")
      expect(alpha.id).not.toBe(beta.id)
      expect(alpha.id).not.toContain("key-alpha-123")
      expect(alpha.id).not.toContain("alpha")
      // Another authenticator over the same keys (a restart, another process) agrees.
      const again = yield* Authenticator.fromKeys([...keys].reverse())
      expect(yield* again.authenticate("Bearer key-alpha-123")).toEqual(alpha)
    }))

  it.effect("reads the scheme in any case and tolerates extra spaces", () =>
    Effect.gen(function* () {
      const auth = yield* Authenticator.fromKeys(keys)
      const expected = yield* auth.authenticate("Bearer key-alpha-123")
      for (const header of ["bearer key-alpha-123", "BEARER key-alpha-123", "Bearer   key-alpha-123", "Bearer key-alpha-123 "]) {
        expect(yield* auth.authenticate(header)).toEqual(expected)
      }
    }))

  it.effect.each<readonly [string, string | null]>([
    ["no header", null],
    ["an empty header", ""],
    ["a wrong key", "Bearer key-gamma-789"],
    ["the key in another case", "Bearer KEY-ALPHA-123"],
    ["a prefix of the key", "Bearer key-alpha"],
    ["the key without the scheme", "key-alpha-123"],
    ["another scheme", "Basic key-alpha-123"],
    ["an empty token", "Bearer "],
    ["two keys", "Bearer key-alpha-123,key-beta-456"]
  ])("refuses %s with 401", ([, header]) =>
    Effect.gen(function* () {
      const auth = yield* Authenticator.fromKeys(keys)
      const error = yield* auth.authenticate(header).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "UnauthorizedError", status: 401, code: "401" })
    }))

  it.effect("never makes an empty or blank key valid", () =>
    Effect.gen(function* () {
      const auth = yield* Authenticator.fromKeys(["", "  ", "real-key"])
      expect(Exit.isFailure(yield* Effect.exit(auth.authenticate("Bearer ")))).toBe(true)
      expect(Exit.isFailure(yield* Effect.exit(auth.authenticate("Bearer  ")))).toBe(true)
      expect(Exit.isSuccess(yield* Effect.exit(auth.authenticate("Bearer real-key")))).toBe(true)
    }))

  it.effect("refuses to start without a key", () =>
    Effect.gen(function* () {
      for (const none of [[], [""], [" ", "\t"]]) {
        const exit = yield* Effect.exit(Authenticator.fromKeys(none))
        expect(Exit.isFailure(exit) && Exit.isInterrupted(exit) === false).toBe(true)
      }
    }))
})

describe("Authenticator.parseKeys", () => {
  it("splits the comma-separated setting and drops blanks", () => {
    expect(Authenticator.parseKeys(" a, b ,,c ,")).toEqual(["a", "b", "c"])
    expect(Authenticator.parseKeys(undefined)).toEqual([])
    expect(Authenticator.parseKeys("")).toEqual([])
  })
})
