import { readFileSync } from "node:fs"

/** The nice value of a `/proc/.../stat` line: field 19, the 17th after the command's closing parenthesis. */
export const niceOf = (stat: string): number => Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16])

/** The nice value of thread `thread` of process `pid`. */
export const niceOfThread = (pid: number | "self", thread: string): number => niceOf(readFileSync(`/proc/${pid}/task/${thread}/stat`, "utf8"))
