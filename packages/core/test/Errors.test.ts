/**
 * Every code of the wire contract maps to one typed error and back.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Errors from "../src/Errors.js"

const taskCodes = ["014002095", "014002096", "014002097", "014002099", "014002105", "014002110", "014002111", "014002112", "014002113", "014002114", "014002115"]
const requestCodes = ["014002101", "014002102", "014002103", "014002104", "401", "404", "405", "408", "409", "413", "415", "422", "429"]

describe("Errors.fromCode", () => {
  it("knows every code of API.md", () => {
    expect([...Errors.codes].sort()).toEqual([...taskCodes, ...requestCodes].sort())
  })

  it.each(Errors.codes)("round-trips %s through the wire error object", (code) => {
    const error = Errors.fromCode(code, "why")
    expect(error.code).toBe(code)
    expect(error.message).toBe("why")
    const wire = Errors.toErrorObject(error)
    expect(wire).toEqual({ code, error_message: "why" })
    const again = Errors.fromCode(wire.code, wire.error_message)
    expect(again._tag).toBe(error._tag)
    expect(again.status).toBe(error.status)
  })

  it("gives each code its own error class", () => {
    const tags = Errors.codes.map((code) => Errors.fromCode(code, "")._tag)
    expect(new Set(tags).size).toBe(Errors.codes.length)
  })

  it.each(requestCodes.filter((code) => code.length === 3))("answers the HTTP code %s with that status", (code) => {
    expect(String(Errors.fromCode(code, "").status)).toBe(code)
  })

  it("keeps the retry delay of a 429", () => {
    expect(Errors.fromCode("429", "slow down", 7)).toMatchObject({ _tag: "RateLimitedError", retryAfterSeconds: 7, status: 429 })
  })

  it("reads an unknown code as an internal error that keeps the code", () => {
    const error = Errors.fromCode("014009999", "new upstream failure")
    expect(error).toMatchObject({ _tag: "InternalGenerationError", code: "014002095" })
    expect(error.message).toContain("014009999")
  })

  it("reads an inherited property name as an unknown code, not a class", () => {
    expect(Errors.fromCode("constructor", "x")._tag).toBe("InternalGenerationError")
    expect(Errors.fromCode("toString", "x")._tag).toBe("InternalGenerationError")
  })
})
