/**
 * Small helpers over ioredis shared by the stores.
 */
import type { ChainableCommander } from "ioredis"

/** Runs a MULTI transaction; a command Redis refused rejects, so no failure passes unseen. */
export const exec = async (transaction: ChainableCommander): Promise<void> => {
  const replies = await transaction.exec()
  if (replies === null) throw new Error("identify-face: a Redis transaction was aborted")
  for (const [error] of replies) if (error !== null) throw error
}

/**
 * Replaces or deletes a key only if it still holds an expected value (KEYS: the key; ARGV: the
 * expected value, the new one or "" to delete, its time to live in ms). 1 when it acted.
 */
export const replaceIfUnchanged = `
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == "" then redis.call("DEL", KEYS[1]) else redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3]) end
return 1
`
