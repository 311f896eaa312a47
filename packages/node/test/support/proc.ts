import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"

// The fields of a `/proc/.../stat` line after the command, which is in parentheses and may hold spaces: the state (field 3) first.
const fieldsAfterCommand = (stat: string): Array<string> => stat.slice(stat.lastIndexOf(")") + 2).split(" ")

/** The nice value of a `/proc/.../stat` line: field 19. */
export const niceOf = (stat: string): number => Number(fieldsAfterCommand(stat)[16])

/**
 * Whether process `pid` runs. A zombie counts as gone: an orphan's is reaped by whatever init the
 * machine has, maybe never.
 */
export const isAlive = (pid: number): boolean => {
  try {
    return fieldsAfterCommand(readFileSync(`/proc/${pid}/stat`, "utf8"))[0] !== "Z"
  } catch {
    return false
  }
}

/** The nice value of thread `thread` of process `pid`. */
export const niceOfThread = (pid: number | "self", thread: string): number => niceOf(readFileSync(`/proc/${pid}/task/${thread}/stat`, "utf8"))

/** A process as `ps` lists it. */
export interface ProcessLine {
  readonly pid: number
  readonly args: string
}

/** The live child processes of `parent`, with their command lines. */
export const childrenOf = (parent: number): Array<ProcessLine> => {
  let listing = ""
  try {
    listing = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(parent)]).toString()
  } catch {
    return [] // ps exits 1 when it lists nothing
  }
  return listing
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .flatMap((match) => (match === null ? [] : [{ pid: Number(match[1]), args: match[2] ?? "" }]))
}
