/**
 * Byte helpers for the modules that handle secrets: a comparison that leaks nothing but the
 * length, standard base64, hex, and SHA-256.
 */
import * as Effect from "effect/Effect"

/** Whether two byte strings are equal, in a time that depends on their length only. */
export const equalInConstantTime = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0)
  return difference === 0
}

/** Standard base64 (with padding) of bytes. */
export const toBase64 = (bytes: Uint8Array): string => {
  let binary = ""
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}

/** The bytes of standard base64 text (padding optional), or undefined when it is not base64. */
export const fromBase64 = (text: string): Uint8Array<ArrayBuffer> | undefined => {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined
  try {
    return Uint8Array.from(atob(text), (char) => char.charCodeAt(0))
  } catch {
    return undefined
  }
}

/** Lower-case hex of bytes. */
export const toHex = (bytes: Uint8Array): string => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")

/** The SHA-256 digest of bytes, with WebCrypto. */
export const sha256 = (bytes: Uint8Array<ArrayBuffer>): Effect.Effect<Uint8Array> =>
  Effect.map(Effect.promise(() => crypto.subtle.digest("SHA-256", bytes)), (digest) => new Uint8Array(digest))
