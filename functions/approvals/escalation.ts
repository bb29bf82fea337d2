import { halfRung } from '../core/config.ts';
import type { Approval } from './model.ts';

/**
 * The escalation rule for every human wait: an approver has a rung of T seconds (the configured
 * approval timeout). The workflow waits half of it, reminds the same approver, waits the rest, then
 * escalates to the next role of the ladder (a new approval, a new T), and expires only after the last
 * rung. The waiting state's TimeoutSecondsPath reads `wait.seconds`; on States.Timeout the workflow
 * asks `advance` (nextStep) what comes next and re-enters the same waiting state with it.
 */
export type WaitStep =
  /** A new approval for the first approver (the state is entered from the task before it). */
  | 'first'
  /** Half time: remind the same approver, keep the link. */
  | 'remind'
  /** The rung is over: a new approval for `role`, the old one is ESCALATED. */
  | 'escalate'
  /** Keep waiting on the same approval (e.g. a chain hand-over restarted the approver's clock). */
  | 'rebind'
  /** The approval was decided while no task was waiting: the re-entered state delivers it at once. */
  | 'deliver'
  /** After the last rung: the workflow takes its timed-out path. */
  | 'expire';

export interface Wait {
  seconds: number;
  step: WaitStep;
  /** The approval nextStep looked at (null for `first`). */
  approvalId: string | null;
  /** The role escalated to (escalate only). */
  role: string | null;
}

/** Who is asked when a role does not answer; a role missing here is the last rung. */
export const ESCALATION_LADDER: Readonly<Record<string, string>> = {
  channelManager: 'marketingDirector',
  marketingDirector: 'escalation',
  finance: 'escalation',
};

export const nextRole = (role: string): string | undefined => ESCALATION_LADDER[role];

const half = halfRung;

/** What the task before a waiting state hands it: wait half a rung for the first approver. */
export function firstWait(rungSeconds: number): Wait {
  return { seconds: half(rungSeconds), step: 'first', approvalId: null, role: null };
}

/** Below this much time left before half time, the timeout is taken as "half time reached". */
const SLACK_MS = 1000;

type Current = Pick<Approval, 'approvalId' | 'status' | 'approverRole' | 'createdAt' | 'levelTimeoutSeconds' | 'remindedAt'>;

/**
 * What a waiting state does when its timeout fires, for the subject's current approval: remind at
 * half time, escalate at the end of the rung, expire after the last rung.
 */
export function nextStep(approval: Current | undefined, now: number): Wait {
  if (!approval) return { seconds: 1, step: 'expire', approvalId: null, role: null };
  const id = approval.approvalId;
  const rung = approval.levelTimeoutSeconds ?? 1;
  if (approval.status === 'APPROVED' || approval.status === 'REJECTED' || approval.status === 'CHANGES_REQUESTED') {
    return { seconds: half(rung), step: 'deliver', approvalId: id, role: null };
  }
  const created = Date.parse(approval.createdAt);
  const halfAt = created + half(rung) * 1000;
  const endAt = created + rung * 1000;
  if (!approval.remindedAt) {
    // A hand-over inside an approval chain starts a new approver's clock: wait for their own half time.
    if (halfAt - now > SLACK_MS) return { seconds: Math.ceil((halfAt - now) / 1000), step: 'rebind', approvalId: id, role: null };
    if (endAt - now > SLACK_MS) return { seconds: Math.ceil((endAt - now) / 1000), step: 'remind', approvalId: id, role: null };
  } else if (endAt - now > SLACK_MS) {
    return { seconds: Math.ceil((endAt - now) / 1000), step: 'rebind', approvalId: id, role: null };
  }
  const role = nextRole(approval.approverRole);
  if (role) return { seconds: half(rung), step: 'escalate', approvalId: id, role };
  return { seconds: 1, step: 'expire', approvalId: id, role: null };
}

/**
 * Roles still to decide after an escalation to `role`: the rest of the original chain, without the
 * role itself and without roles the escalation went past (escalated to the director, a chain
 * "channel manager then director" is complete when the director approves).
 */
export function chainAfterEscalation(thenApproverRoles: readonly string[], role: string): string[] {
  const above = new Set<string>();
  for (let r = nextRole(role); r; r = nextRole(r)) above.add(r);
  return thenApproverRoles.filter((r) => above.has(r));
}
