/**
 * Pure quorum math for a single (non-joint) voter set.
 */

/** Votes needed among `n` voters. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * Highest index known to be stored on a majority of voters, given each voter's match index.
 * Returns 0 for an empty voter set (nothing can commit).
 */
export function committedIndex(matches: number[]): number {
  if (matches.length === 0) return 0;
  const sorted = [...matches].sort((a, b) => b - a);
  return sorted[majority(matches.length) - 1] as number;
}

export type VoteResult = 'won' | 'lost' | 'pending';

/** Outcome of an election among `voters` given the responses so far (true = granted). */
export function voteResult(voters: Iterable<string>, votes: ReadonlyMap<string, boolean>): VoteResult {
  let n = 0;
  let granted = 0;
  let rejected = 0;
  for (const v of voters) {
    n++;
    const r = votes.get(v);
    if (r === true) granted++;
    else if (r === false) rejected++;
  }
  const q = majority(n);
  if (n === 0) return 'lost';
  if (granted >= q) return 'won';
  if (n - rejected < q) return 'lost';
  return 'pending';
}
