# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict
from datetime import timedelta

from odoo import api, models

from ..urssaf_api import periods
from .urssaf_common import PERIODICITY_TO_API

# Auto-entrepreneurs prepared per batch.
PREPARE_BATCH = 1000

# Why an auto-entrepreneur was left out of a preparation, in the order the
# checks are made (the wizard's result lists and counts them by reason).
SKIP_REASONS = [
    ("not_checked", "Urssaf account not checked"),
    ("not_eligible", "Not eligible"),
    ("no_mandate", "No active mandate"),
    ("no_category", "No default activity category"),
    ("wrong_period", "Period not of its periodicity"),
    ("not_ended", "Period not ended"),
    ("already_declared", "Already declared"),
]


class UrssafDeclarationPreparation(models.AbstractModel):
    """Creating and refreshing the draft declarations of ended periods.

    Shared by the period wizard and the daily scheduled action.
    """

    _name = "urssaf.declaration.preparation"
    _description = "Urssaf declaration preparation"

    @api.model
    def _default_partners(self, company):
        """Eligible auto-entrepreneurs with an active mandate in ``company``."""
        mandates = self.env["urssaf.mandate"].search([("company_id", "=", company.id), ("state", "=", "active")])
        # Eligible as that company's Urssaf account says, whatever company
        # the user (or the scheduled run) works in.
        eligible = mandates.partner_id.with_company(company).filtered(lambda p: p.sudo().urssaf_eligible)
        return eligible.with_env(self.env)

    @api.model
    def _company_partners(self, company):
        """Every auto-entrepreneur ``company`` declares for (an Urssaf account
        of its own), whether or not it can be prepared: what the wizard
        prepares when no auto-entrepreneur is chosen, so that the ones left
        out are listed with their reason rather than silently forgotten."""
        accounts = self.env["urssaf.account"].search(
            [("company_id", "=", company.id), ("is_auto_entrepreneur", "=", True), ("partner_id.active", "=", True)],
            order="partner_id",
        )
        return accounts.partner_id

    @api.model
    def _period_for(self, partner, today, period=None):
        """The period to declare for ``partner``: ``period`` when given and
        valid for the partner, else its last ended period. Returns
        ``(start, end, is_first)`` or, to skip it, ``(reason, detail)``: a
        key of ``SKIP_REASONS`` and a translated detail (or "")."""
        partner = partner.sudo()
        if not partner.urssaf_checked_at or not partner.urssaf_periodicity or not partner.urssaf_activity_start:
            return "not_checked", ""
        if not partner.urssaf_eligible:
            return "not_eligible", partner.urssaf_ineligibility_reason or ""
        if not partner.urssaf_category_id:
            return "no_category", ""
        periodicity = PERIODICITY_TO_API[partner.urssaf_periodicity]
        start_of_activity = partner.urssaf_activity_start
        if period:
            start, end = period
            if not periods.is_valid_period(start_of_activity, periodicity, start, end):
                return "wrong_period", self.env._("the period does not match its periodicity or its first period")
            if not periods.is_period_ended(end, today):
                return "not_ended", ""
        else:
            found = periods.last_ended_period(today, start_of_activity, periodicity)
            if not found:
                return "not_ended", self.env._("no period has ended yet since its activity started")
            start, end = found
        return start, end, (start, end) == tuple(periods.first_period(start_of_activity, periodicity))

    @api.model
    def _prepare(self, partners, company, today, period=None):
        """Create or refresh the declarations of ``partners``, a batch of
        them at a time (a platform has thousands): the queries of a batch do
        not depend on its size, and no batch holds more than its own
        declarations.

        Returns ``{"created": declarations, "refreshed": declarations,
        "skipped": [(partner, reason, detail)]}``, ``reason`` a key of
        ``SKIP_REASONS``, ``detail`` a translated precision (or "").
        """
        # The auto-entrepreneurs as ``company`` knows them (its Urssaf accounts).
        partners = partners.with_company(company)
        Declaration = self.env["urssaf.declaration"]
        result = {"created": Declaration, "refreshed": Declaration, "skipped": []}
        periods_of = {partner.id: self._period_for(partner, today, period) for partner in partners}
        turnover = self._run_turnover(periods_of, company) if len(partners) > PREPARE_BATCH else None
        for start in range(0, len(partners), PREPARE_BATCH):
            batch = self._prepare_batch(partners[start : start + PREPARE_BATCH], company, periods_of, turnover)
            result["created"] |= batch["created"]
            result["refreshed"] |= batch["refreshed"]
            result["skipped"] += batch["skipped"]
        return result

    @api.model
    def _run_turnover(self, periods_of, company):
        """The collected turnover of a run over many auto-entrepreneurs: one
        query per period for all of them rather than one per batch.

        Over most of a database's auto-entrepreneurs the query reads the
        period's payment and bank lines, and costs what the period collected
        whatever their number (at ten thousand: 6.5 s once, against 2.5 s
        for each of ten batches).

        :param periods_of: ``{partner_id: _period_for's answer}``
        :return: ``{(company_id, start, end): (collected, converted)}`` as
            ``urssaf.turnover._collected_totals`` returns them
        """
        partner_ids_of = defaultdict(list)
        for partner_id, found in periods_of.items():
            if len(found) == 3:
                partner_ids_of[found[0], found[1]].append(partner_id)
        turnover_model = self.env["urssaf.turnover"]
        return {
            (company.id, start, end): turnover_model._collected_totals(
                self.env["res.partner"].browse(partner_ids), start, end, company
            )
            for (start, end), partner_ids in partner_ids_of.items()
        }

    @api.model
    def _with_active_mandate(self, partners, company):
        """The ids of ``partners`` that ``company`` holds an active
        tierce-déclaration mandate from, in one query."""
        active_mandates = self.env["urssaf.mandate"].search(
            [("company_id", "=", company.id), ("state", "=", "active"), ("partner_id", "in", partners.ids)]
        )
        return set(active_mandates.partner_id.ids)

    @api.model
    def _late_for_want_of_mandate(self, company, today):
        """The auto-entrepreneurs of ``company`` whose latest overdue period
        cannot be declared because ``company`` holds no active mandate from
        them, as the preparation would skip them ("no_mandate").

        The ones Urssaf has not checked, or says are not eligible, are left
        out as the preparation leaves them out first: no mandate would mend
        that. A period with a declaration (not cancelled) is left out too:
        that declaration tells its own lateness.

        Returns ``[(partner, start, end, due_date)]``, the partners in
        ``company``.
        """
        partners = self._company_partners(company).with_company(company)
        with_mandate = self._with_active_mandate(partners, company)
        late = []
        for partner in partners.filtered(lambda p: p.id not in with_mandate):
            found = self._period_for(partner, today)
            if len(found) == 2 and found[0] in ("not_checked", "not_eligible"):
                continue
            overdue = self._last_overdue_period(partner, today)
            if overdue:
                late.append((partner, *overdue))
        if not late:
            return late
        declared = {
            (declaration.partner_id.id, declaration.period_start)
            for declaration in self.env["urssaf.declaration"]
            .sudo()
            .search(
                [
                    ("company_id", "=", company.id),
                    ("partner_id", "in", [partner.id for partner, *_period in late]),
                    ("period_start", "in", list({start for _partner, start, *_rest in late})),
                    ("state", "!=", "cancelled"),
                ]
            )
        }
        return [found for found in late if (found[0].id, found[1]) not in declared]

    @api.model
    def _last_overdue_period(self, partner, today):
        """The latest period of ``partner`` (checked by Urssaf) whose due date
        has passed on ``today``: ``(start, end, due_date)`` or None. The last
        ended period is usually not overdue yet (a monthly period is due a
        month after it ends), so the ones before it are looked at too."""
        partner = partner.sudo()
        periodicity = PERIODICITY_TO_API[partner.urssaf_periodicity]
        start_of_activity = partner.urssaf_activity_start
        period = periods.last_ended_period(today, start_of_activity, periodicity)
        while period:
            due = periods.due_date(period[1], periodicity)
            if due < today:
                return period[0], period[1], due
            period = periods.expected_period(start_of_activity, periodicity, period[0] - timedelta(days=1))
        return None

    @api.model
    def _prepare_batch(self, partners, company, periods_of, turnover=None):
        """:param periods_of: ``{partner_id: _period_for's answer}``"""
        Declaration = self.env["urssaf.declaration"]
        created, refreshed, skipped = Declaration, Declaration, []
        with_mandate = self._with_active_mandate(partners, company)
        batch_periods = {}
        for partner in partners:
            found = periods_of[partner.id]
            # What Urssaf says of the account comes first: an auto-entrepreneur
            # never checked, or not eligible, cannot be given a mandate anyway.
            if len(found) == 2 and found[0] in ("not_checked", "not_eligible"):
                skipped.append((partner, *found))
            elif partner.id not in with_mandate:
                skipped.append((partner, "no_mandate", ""))
            elif len(found) == 2:
                skipped.append((partner, *found))
            else:
                batch_periods[partner] = found
        # The declarations already there, in one query for the batch.
        existing = {
            (declaration.partner_id.id, declaration.period_start): declaration
            for declaration in Declaration.search(
                [
                    ("partner_id", "in", [partner.id for partner in batch_periods]),
                    ("company_id", "=", company.id),
                    ("period_start", "in", list({found[0] for found in batch_periods.values()})),
                    ("state", "!=", "cancelled"),
                ]
            )
        }
        to_create = []
        for partner, (start, end, _is_first) in batch_periods.items():
            declaration = existing.get((partner.id, start))
            if declaration and declaration._urssaf_is_locked():
                skipped.append((partner, "already_declared", declaration.urssaf_number or declaration._state_label()))
            elif declaration:
                refreshed |= declaration
            else:
                # The periodicity and first-period flag are filled from the
                # Urssaf account when the declaration is created.
                to_create.append(
                    {
                        "partner_id": partner.id,
                        "company_id": company.id,
                        "period_start": start,
                        "period_end": end,
                        "user_id": Declaration._urssaf_responsible_for(company).id,
                    }
                )
        if to_create:
            created = Declaration.create(to_create)
        (created | refreshed)._refresh_turnover(turnover)
        return {"created": created, "refreshed": refreshed, "skipped": skipped}

    @api.model
    def _skip_reason_label(self, reason):
        """The translated label of a key of ``SKIP_REASONS``."""
        return dict(self.env["urssaf.declaration.prepare.skip"]._fields["reason"]._description_selection(self.env))[
            reason
        ]

    @api.model
    def _skip_line(self, partner, reason, detail):
        if detail:
            return self.env._(
                "%(partner)s: %(reason)s (%(detail)s)",
                partner=partner.display_name,
                reason=self._skip_reason_label(reason),
                detail=detail,
            )
        return self.env._(
            "%(partner)s: %(reason)s", partner=partner.display_name, reason=self._skip_reason_label(reason)
        )

    @api.model
    def _summary(self, result):
        """What a preparation did, in words: the declarations created and
        refreshed, then each auto-entrepreneur left out with its reason."""
        created, refreshed, skipped = len(result["created"]), len(result["refreshed"]), len(result["skipped"])
        if created == 1:
            lines = [self.env._("1 declaration created.")]
        else:
            lines = [self.env._("%(count)s declarations created.", count=created)]
        if refreshed == 1:
            lines.append(self.env._("1 declaration refreshed."))
        elif refreshed:
            lines.append(self.env._("%(count)s declarations refreshed.", count=refreshed))
        if skipped == 1:
            lines.append(self.env._("1 auto-entrepreneur skipped:"))
        elif skipped:
            lines.append(self.env._("%(count)s auto-entrepreneurs skipped:", count=skipped))
        for partner, reason, detail in result["skipped"]:
            lines.append(f"- {self._skip_line(partner, reason, detail)}")
        return "\n".join(lines)
