import { it } from 'vitest';

/** Cases an adapter cannot run, each group with the reason. */
export interface SkippedCases {
  readonly reason: string;
  readonly tests: readonly string[];
}

/** The `test` function of a contract suite: a case the adapter skips is reported skipped, with its reason in its name. */
export function contractCase(skip: readonly SkippedCases[] = []): (title: string, body: () => Promise<void>) => void {
  return (title, body) => {
    const reason = skip.find((s) => s.tests.includes(title))?.reason;
    // The only skip in the suites: an adapter declares the cases it cannot run, each with its reason.
    if (reason) it.skip(`${title} (skipped: ${reason})`, body);
    else it(title, body);
  };
}
