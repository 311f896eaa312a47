import { defineProject } from "vitest/config"
import type { UserWorkspaceConfig } from "vitest/config"

/**
 * The repository's private export condition: each package's `exports` maps it to its TypeScript
 * sources (`./src/*.ts`). Namespaced so no consumer's tooling enables it by accident, and removed
 * from the manifests that are packed (tools/pack-manifest.js).
 */
export const sourceCondition = "@identify-face/source"

/**
 * The vitest project of one workspace package: sources are read through the
 * `@identify-face/source` export condition, so tests need no build.
 */
export const packageProject = (name: string, test: UserWorkspaceConfig["test"] = {}) =>
  defineProject({
    resolve: { conditions: [sourceCondition] },
    // Vite applies `resolve.conditions` to browser code only; tests run as SSR code.
    ssr: { resolve: { conditions: [sourceCondition] } },
    test: { name, include: ["test/**/*.test.ts"], ...test }
  })
