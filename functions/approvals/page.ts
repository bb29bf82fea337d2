import { html, page, type SafeHtml } from '../core/html.ts';
import { formatDecimal, formatDisplay } from '../core/money.ts';
import type { Approval, ApprovalStatus } from './model.ts';

const DECISION_LABELS = { approve: 'Approve', reject: 'Reject', request_changes: 'Request changes' } as const;

/** The confirmation page behind an emailed link. Rendering it changes nothing. */
export function approvalPage(approval: Approval, token: string, fileLinks: { label: string; url: string }[]): string {
  const s = approval.summary;
  const amountField: SafeHtml | string = s.maxAmount
    ? html`<p><label>Approved amount (${s.maxAmount.currency}, at most ${formatDisplay(s.maxAmount)})<br>
<input name="approvedAmount" inputmode="decimal" value="${formatDecimal(s.maxAmount)}"></label></p>`
    : '';
  const tierField: SafeHtml | string = s.tierChoices
    ? html`<p><label>Tier<br><select name="tier">${s.tierChoices.options.map(
        (t) => html`<option value="${t}"${t === s.tierChoices!.suggested ? html` selected` : ''}>${t}${t === s.tierChoices!.suggested ? ' (suggested)' : ''}</option>`,
      )}</select></label></p>`
    : '';
  const body = html`<h1>${s.title}</h1>
<p class="note">Decision requested from ${approval.approverEmail} · link valid until ${approval.deadline}</p>
<table>
<tr><th>Record</th><td>${approval.subjectId}</td></tr>
${s.partnerId ? html`<tr><th>Partner</th><td>${s.partnerName ?? ''} (${s.partnerId})</td></tr>` : ''}
${s.lines.map((l) => html`<tr><th>${l.label}</th><td>${l.value}</td></tr>`)}
</table>
${fileLinks.length ? html`<h2>Files</h2><ul>${fileLinks.map((f) => html`<li><a href="${f.url}" rel="noopener">${f.label}</a></li>`)}</ul>` : ''}
<form method="post" action="/approvals/${approval.approvalId}/decision">
<input type="hidden" name="t" value="${token}">
${amountField}${tierField}
<p><label>Comment<br><textarea name="comment" rows="3" cols="60" maxlength="2000"></textarea></label></p>
<p>${approval.allowedDecisions.map((d) => html`<button type="submit" name="decision" value="${d}">${DECISION_LABELS[d]}</button>`)}</p>
</form>
<p class="note">Nothing is decided until you press a button.</p>`;
  return page(s.title, body);
}

export function messagePage(title: string, message: string, tone: 'ok' | 'bad' = 'bad'): string {
  return page(title, html`<h1 class="${tone}">${title}</h1><p>${message}</p>`);
}

export function decidedPage(approval: Approval, status: ApprovalStatus, handedOverTo?: Approval): string {
  const next = handedOverTo ? ` It now goes to ${handedOverTo.approverEmail} for the next decision.` : '';
  return messagePage('Decision recorded', `${approval.subjectId}: ${status}.${next} You can close this page.`, 'ok');
}
