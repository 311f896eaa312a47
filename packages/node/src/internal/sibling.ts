/**
 * Code that runs in a thread or a process of its own is started from its file, found next to the
 * module starting it.
 */

/**
 * The module `name` (a path without extension) relative to `base`, an `import.meta.url`: its
 * TypeScript source when `base` is one (tests and tools run the sources through tsx, which the
 * thread or process must then load too), else its built `.js`.
 */
export const siblingModule = (base: string, name: string): { readonly url: URL; readonly fromSource: boolean } => {
  const fromSource = base.endsWith(".ts")
  return { url: new URL(`./${name}.${fromSource ? "ts" : "js"}`, base), fromSource }
}
