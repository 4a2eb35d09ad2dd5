// Evaluates Urssaf's official rules (modele-social, run by publicodes) on a
// table of auto-entrepreneur declarations and writes the figures to
// urssaf_api/tests/data/official_engine_cases.json, the reference that
// urssaf_api/contributions.py is tested against. See README.md.
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import rules from 'modele-social'
import Engine from 'publicodes'

const HERE = dirname(fileURLToPath(import.meta.url))
const OUTPUT = join(HERE, '..', '..', 'urssaf_api', 'tests', 'data', 'official_engine_cases.json')
const packageVersion = (name) =>
  JSON.parse(readFileSync(join(HERE, 'node_modules', name, 'package.json'), 'utf8')).version

const AE = 'dirigeant . auto-entrepreneur . cotisations et contributions'
const ACRE = 'dirigeant . auto-entrepreneur . Acre'
const TURNOVER_RULE = {
  VENTE_MARCHANDISES: "entreprise . chiffre d'affaires . vente restauration hébergement",
  PRESTATION_SERVICES_BIC: "entreprise . chiffre d'affaires . service BIC",
  PRESTATION_SERVICES_BNC: "entreprise . chiffre d'affaires . service BNC",
  PRESTATION_SERVICES_BNC_CIPAV: "entreprise . chiffre d'affaires . service BNC",
}
const SOCIAL_RULE = {
  VENTE_MARCHANDISES: `${AE} . cotisations . vente restauration hébergement`,
  PRESTATION_SERVICES_BIC: `${AE} . cotisations . service BIC`,
  PRESTATION_SERVICES_BNC: `${AE} . cotisations . service BNC`,
  PRESTATION_SERVICES_BNC_CIPAV: `${AE} . cotisations . service BNC Cipav`,
}
const KIND_RULE = {
  cotisations: (category) => SOCIAL_RULE[category],
  cfp: () => `${AE} . CFP`,
  tfc: () => `${AE} . TFC`,
  versement_liberatoire: () => 'dirigeant . auto-entrepreneur . impôt . versement libératoire . montant',
}
// Kinds whose amount the engine rounds to the euro; the others it leaves
// unrounded and the table keeps them to the cent.
const ROUNDED_BY_ENGINE = new Set(['cotisations', 'tfc'])
const CATEGORIES = Object.keys(SOCIAL_RULE)
const NATURE = { commercant: 'commerciale', artisan: 'artisanale', liberal: 'libérale' }
const DEPARTMENT = { general: 'Paris', alsace: 'Bas-Rhin', alsace_haut_rhin: 'Haut-Rhin', moselle: 'Moselle' }
// A turnover large enough that the engine's rounding to the euro leaves the
// rate readable to 1e-6 %: rates are measured, not copied from the rules.
const RATE_PROBE = 100000000n // euros; the engine's amount is the rate in millionths of a percent

// The engine is a yearly simulator: it rounds each turnover category to the
// euro *per year* ("arrondi: oui" on those three rules, unit €/an), which
// would turn a monthly 1234.56 € into 14815/12 €. A declaration is computed
// on the exact turnover of the period, so that input rounding (and nothing
// else) is removed; `checkPatchIsNeutral` shows it changes no figure when the
// yearly turnover is already a whole number of euros.
const PATCHED_RULES = structuredClone(rules)
const UNROUNDED_INPUTS = [...new Set(Object.values(TURNOVER_RULE))]
for (const name of UNROUNDED_INPUTS) {
  if (PATCHED_RULES[name].arrondi !== 'oui') throw new Error(`unexpected rule shape: ${name}`)
  delete PATCHED_RULES[name].arrondi
}

// Warnings the rules emit on any evaluation: rules tagged experimental, and a
// cycle the engine reports (and resolves) in the overseas-department test;
// every case checks that the overseas (DROM) rates stay out of play.
const KNOWN_WARNINGS = [
  /experimentale/,
  /cycle a été détecté[\s\S]*établissement \. commune \. département \. outre-mer/,
]
const unexpectedWarnings = []
const logger = {
  log() {},
  warn(message) {
    if (!KNOWN_WARNINGS.some((known) => known.test(String(message)))) unexpectedWarnings.push(String(message))
  },
  error(message) {
    unexpectedWarnings.push(String(message))
  },
}
const engine = new Engine(PATCHED_RULES, { logger })
const officialEngine = new Engine(rules, { logger })

// --- exact decimal helpers (amounts as strings, cents as BigInt) ---------
const toCents = (amount) => {
  const [units, fraction = ''] = amount.split('.')
  return BigInt(units) * 100n + BigInt(fraction.padEnd(2, '0'))
}
const fromCents = (cents) => `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`
// Engine values are binary floats: read them at 1e-9 (far below a cent, far
// above float noise), then round half up to the cent as the engine's own
// `arrondi` does (Math.round).
const engineCents = (value) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new Error(`unexpected engine value ${value}`)
  }
  const nanos = BigInt(value.toFixed(9).replace('.', ''))
  return (nanos + 5000000n) / 10000000n
}
const formatDate = (iso) => iso.split('-').reverse().join('/')

// DOMAIN.md: ACRE covers from the activity start to the end of the third
// calendar quarter after the start quarter. The engine, a yearly simulator,
// has no such rule (it applies ACRE while the business is less than a year
// old on 1 January), so it is told whether ACRE applies to the period.
function acreEnd(activityStart) {
  const [year, month] = activityStart.split('-').map(Number)
  const quarter = year * 4 + Math.floor((month - 1) / 3) + 3
  const endYear = Math.floor(quarter / 4)
  const endMonth = (quarter % 4) * 3 + 3
  const lastDay = new Date(Date.UTC(endYear, endMonth, 0)).getUTCDate()
  return `${endYear}-${String(endMonth).padStart(2, '0')}-${lastDay}`
}
const acreCovers = (acreStart, periodStart) => Boolean(acreStart) && periodStart <= acreEnd(acreStart)

function situationFor({ periodStart, trade, chamber, versementLiberatoire, turnover, cipav, acreStart }) {
  cipav ??= 'PRESTATION_SERVICES_BNC_CIPAV' in turnover
  const situation = {
    'entreprise . catégorie juridique': "'EI'",
    'entreprise . catégorie juridique . EI . auto-entrepreneur': 'oui',
    'dirigeant . exonérations . ACRE': acreCovers(acreStart, periodStart) ? 'oui' : 'non',
    'entreprise . date de création': acreStart ? formatDate(acreStart) : '01/01/2020',
    date: formatDate(periodStart),
    'entreprise . activité . nature': `'${NATURE[trade]}'`,
    'établissement . commune . département': `'${DEPARTMENT[chamber]}'`,
    'dirigeant . auto-entrepreneur . impôt . versement libératoire': versementLiberatoire ? 'oui' : 'non',
  }
  if (trade === 'liberal') {
    situation['entreprise . activité . nature . libérale . réglementée'] = cipav ? 'oui' : 'non'
  }
  let totalCents = 0n
  for (const name of UNROUNDED_INPUTS) situation[name] = '0 €/mois'
  for (const [category, amount] of Object.entries(turnover)) {
    situation[TURNOVER_RULE[category]] = `${amount} €/mois`
    totalCents += toCents(amount)
  }
  situation["dirigeant . auto-entrepreneur . chiffre d'affaires"] = `${fromCents(totalCents)} €/mois`
  return situation
}

function evaluate(someEngine, situation, rule) {
  someEngine.setSituation(situation)
  const node = someEngine.evaluate({ valeur: rule, unité: '€/mois' })
  if (unexpectedWarnings.length) throw new Error(unexpectedWarnings.join('\n'))
  return node.nodeValue ?? 0 // null: not applicable (e.g. TFC of a liberal)
}

function lineKinds(category, trade, versementLiberatoire) {
  const kinds = ['cotisations', 'cfp']
  const bic = category === 'VENTE_MARCHANDISES' || category === 'PRESTATION_SERVICES_BIC'
  if (bic && trade !== 'liberal') kinds.push('tfc')
  if (versementLiberatoire) kinds.push('versement_liberatoire')
  return kinds
}

function measuredRate(spec, category, kind) {
  const probe = situationFor({ ...spec, turnover: { [category]: fromCents(RATE_PROBE * 100n) } })
  const value = evaluate(engine, probe, KIND_RULE[kind](category))
  // percent = amount / RATE_PROBE * 100, i.e. the amount in millionths of a percent
  return (Math.round(value) / 1e6).toString()
}

function buildCase(id, spec) {
  const lines = []
  // The engine sums categories inside CFP, TFC and VL: evaluating each
  // category on its own gives the per-category line the declaration shows.
  for (const category of CATEGORIES.filter((c) => c in spec.turnover)) {
    const single = situationFor({
      ...spec,
      turnover: { [category]: spec.turnover[category] },
      cipav: 'PRESTATION_SERVICES_BNC_CIPAV' in spec.turnover,
    })
    for (const kind of lineKinds(category, spec.trade, spec.versementLiberatoire)) {
      const value = evaluate(engine, single, KIND_RULE[kind](category))
      if (ROUNDED_BY_ENGINE.has(kind) && !Number.isInteger(value)) {
        throw new Error(`case ${id}: ${kind} not rounded by the engine: ${value}`)
      }
      lines.push({
        category,
        kind,
        base: spec.turnover[category],
        rate: measuredRate(spec, category, kind),
        amount: fromCents(engineCents(value)),
        engine_value: value,
      })
    }
  }
  const situation = situationFor(spec)
  officialEngine.setSituation(situation)
  if (officialEngine.evaluate('dirigeant . auto-entrepreneur . DROM').nodeValue) {
    throw new Error(`case ${id}: the overseas (DROM) rates apply`)
  }
  // "dirigeant . auto-entrepreneur . Acre" has no value of its own: ask the
  // exemption (true, false, or null when not applicable).
  const acre = acreCovers(spec.acreStart, spec.periodStart)
  if ((officialEngine.evaluate('dirigeant . exonérations . ACRE').nodeValue === true) !== acre) {
    throw new Error(`case ${id}: the engine's ACRE is not ${acre}`)
  }
  const acreShare = acre ? officialEngine.evaluate(`${ACRE} . taux Acre`).nodeValue : null
  if (acre && typeof acreShare !== 'number') throw new Error(`case ${id}: no ACRE share`)
  let engineTotal = evaluate(engine, situation, AE)
  if (spec.versementLiberatoire) engineTotal += evaluate(engine, situation, KIND_RULE.versement_liberatoire())
  const total = lines.reduce((sum, line) => sum + toCents(line.amount), 0n)
  // The whole-declaration run must agree with the per-category lines: at most
  // one half-cent per line the engine leaves unrounded.
  const unrounded = lines.filter((line) => !ROUNDED_BY_ENGINE.has(line.kind)).length
  const gap = Math.abs(Number(total) / 100 - engineTotal)
  if (gap > unrounded * 0.005 + 1e-9) {
    throw new Error(`case ${id}: lines add up to ${fromCents(total)}, engine total ${engineTotal}`)
  }
  return {
    id,
    period_start: spec.periodStart,
    trade: spec.trade,
    chamber: spec.chamber === 'alsace_haut_rhin' ? 'alsace' : spec.chamber,
    versement_liberatoire: spec.versementLiberatoire,
    // only on ACRE cases, so that the other cases read as before
    ...(spec.acreStart ? { acre_start: spec.acreStart, acre_applies: acre, acre_share: acreShare } : {}),
    turnover: spec.turnover,
    situation,
    lines,
    total: fromCents(total),
    engine_total: engineTotal,
    engine_total_cents: fromCents(engineCents(engineTotal)),
  }
}

// With whole-euro turnovers the yearly rounding of the official rules is a
// no-op, so the patched and the official engines must give the same figures.
let neutralityChecks = 0
function checkPatchIsNeutral(spec) {
  if (!Object.values(spec.turnover).every((amount) => toCents(amount) % 100n === 0n)) return
  const situation = situationFor(spec)
  const rulesToCompare = [AE, `${AE} . CFP`, `${AE} . TFC`, KIND_RULE.versement_liberatoire()]
  for (const category of CATEGORIES) rulesToCompare.push(SOCIAL_RULE[category])
  for (const rule of rulesToCompare) {
    const patched = evaluate(engine, situation, rule)
    const official = evaluate(officialEngine, situation, rule)
    if (Math.abs(patched - official) > 1e-9) {
      throw new Error(`patch changes ${rule}: ${official} -> ${patched} for ${JSON.stringify(spec)}`)
    }
  }
  neutralityChecks += 1
}

// --- the table -----------------------------------------------------------
// One period start before and one on each rate change the rules know.
const DATES = [
  '2022-01-01', '2022-09-01', '2022-10-01', '2024-06-01', '2024-07-01',
  '2024-12-01', '2025-01-01', '2025-12-01', '2026-01-01', '2026-04-01',
]
const NATURAL_TRADES = {
  VENTE_MARCHANDISES: ['commercant', 'artisan'],
  PRESTATION_SERVICES_BIC: ['commercant', 'artisan'],
  PRESTATION_SERVICES_BNC: ['liberal'],
  PRESTATION_SERVICES_BNC_CIPAV: ['liberal'],
}

// Cents amounts around a rounding tie of `rate` (a percent, as a string):
// the first above `startCents` whose product lies just under the half unit
// (rounds down) and the first that lies on or just over it (rounds up).
// `unitCents` is 100 for rounding to the euro, 1 for rounding to the cent.
function tieAmounts(rate, startCents, unitCents) {
  const [units, fraction = ''] = rate.split('.')
  const scale = 10n ** BigInt(fraction.length)
  const rateScaled = BigInt(units) * scale + BigInt(fraction || '0')
  const modulus = 100n * scale * BigInt(unitCents) // product in these units = one rounding unit
  const half = modulus / 2n
  const gcd = (a, b) => (b === 0n ? a : gcd(b, a % b))
  // products only land on multiples of gcd(rate, modulus): accept the nearest
  const step = gcd(rateScaled, modulus)
  const window = modulus / 1000n > step ? modulus / 1000n : step
  let down = null
  let up = null
  for (let cents = BigInt(startCents); (down === null || up === null) && cents < BigInt(startCents) + 10000000n; cents += 1n) {
    const residue = (cents * rateScaled) % modulus
    if (down === null && residue < half && half - residue <= window) down = cents
    if (up === null && residue >= half && residue - half <= window) up = cents
  }
  if (down === null || up === null) throw new Error(`no tie found for ${rate}`)
  return [fromCents(down), fromCents(up)]
}

const specs = []
const add = (spec) => specs.push({ chamber: 'general', versementLiberatoire: false, ...spec })

// A. every category, natural trade and date, with and without VL.
for (const periodStart of DATES) {
  for (const category of CATEGORIES) {
    for (const trade of NATURAL_TRADES[category]) {
      for (const versementLiberatoire of [false, true]) {
        add({ periodStart, trade, versementLiberatoire, turnover: { [category]: '1234.56' } })
      }
      // whole euros: the official, unpatched rules give the same figures
      add({ periodStart, trade, turnover: { [category]: '2618.00' } })
    }
  }
}

// B. social contributions rounding both ways at every date's rate.
const specsBeforeTies = specs.length
for (const periodStart of DATES) {
  for (const category of CATEGORIES) {
    const trade = NATURAL_TRADES[category][0]
    const spec = { periodStart, trade, turnover: { [category]: '0' } }
    const rate = measuredRate({ chamber: 'general', versementLiberatoire: false, ...spec }, category, 'cotisations')
    for (const amount of tieAmounts(rate, 100000 + 137 * specs.length, 100)) {
      add({ ...spec, turnover: { [category]: amount } })
    }
  }
}
const socialTieCases = specs.length - specsBeforeTies

// C. chamber fees rounding both ways, every trade with a chamber and every chamber.
const TFC_PROFILES = [
  ['commercant', 'general'], ['commercant', 'moselle'], ['artisan', 'general'],
  ['artisan', 'alsace'], ['artisan', 'alsace_haut_rhin'], ['artisan', 'moselle'],
]
for (const [trade, chamber] of TFC_PROFILES) {
  for (const category of ['VENTE_MARCHANDISES', 'PRESTATION_SERVICES_BIC']) {
    const spec = { periodStart: '2025-01-01', trade, chamber, turnover: { [category]: '0' } }
    const rate = measuredRate({ versementLiberatoire: false, ...spec }, category, 'tfc')
    for (const amount of tieAmounts(rate, 50000, 100)) add({ ...spec, turnover: { [category]: amount } })
  }
}

// D. CFP and VL rounding to the cent both ways.
for (const [category, trade] of [
  ['VENTE_MARCHANDISES', 'commercant'], ['PRESTATION_SERVICES_BIC', 'artisan'],
  ['PRESTATION_SERVICES_BNC', 'liberal'], ['PRESTATION_SERVICES_BNC_CIPAV', 'liberal'],
]) {
  const spec = { periodStart: '2025-06-01', trade, versementLiberatoire: true, turnover: { [category]: '0' } }
  for (const kind of ['cfp', 'versement_liberatoire']) {
    const rate = measuredRate({ chamber: 'general', ...spec }, category, kind)
    for (const amount of tieAmounts(rate, 10000, 1)) add({ ...spec, turnover: { [category]: amount } })
  }
}

// E. mixed activities, odd cents, every chamber, VL on and off.
const MIXED = [
  ['commercant', 'general', { VENTE_MARCHANDISES: '8123.47', PRESTATION_SERVICES_BIC: '2345.67' }],
  ['commercant', 'alsace', { VENTE_MARCHANDISES: '777.77', PRESTATION_SERVICES_BIC: '1999.99' }],
  ['artisan', 'general', { VENTE_MARCHANDISES: '4321.09', PRESTATION_SERVICES_BIC: '6543.21' }],
  ['artisan', 'alsace', { VENTE_MARCHANDISES: '4321.09', PRESTATION_SERVICES_BIC: '6543.21' }],
  ['artisan', 'alsace_haut_rhin', { VENTE_MARCHANDISES: '1500.50', PRESTATION_SERVICES_BIC: '2500.50' }],
  ['artisan', 'moselle', { VENTE_MARCHANDISES: '4321.09', PRESTATION_SERVICES_BIC: '6543.21' }],
  ['liberal', 'general', { VENTE_MARCHANDISES: '310.33', PRESTATION_SERVICES_BNC: '5432.10' }],
  ['liberal', 'general', { PRESTATION_SERVICES_BIC: '640.05', PRESTATION_SERVICES_BNC_CIPAV: '3210.98' }],
  ['commercant', 'general', { VENTE_MARCHANDISES: '15725.00', PRESTATION_SERVICES_BNC: '1000.00' }],
]
for (const periodStart of ['2022-09-01', '2024-07-01', '2025-01-01', '2026-01-01']) {
  for (const [trade, chamber, turnover] of MIXED) {
    for (const versementLiberatoire of [false, true]) {
      add({ periodStart, trade, chamber, versementLiberatoire, turnover })
    }
  }
}

// F. nothing or almost nothing collected; the ceiling-sized quarter.
for (const [trade, turnover] of [
  ['commercant', { VENTE_MARCHANDISES: '0', PRESTATION_SERVICES_BIC: '0' }],
  ['artisan', { PRESTATION_SERVICES_BIC: '0.01' }],
  ['liberal', { PRESTATION_SERVICES_BNC: '0' }],
  ['liberal', { PRESTATION_SERVICES_BNC_CIPAV: '1.99' }],
  ['commercant', { VENTE_MARCHANDISES: '47175.00', PRESTATION_SERVICES_BIC: '19425.00' }],
]) {
  add({ periodStart: '2025-04-01', trade, versementLiberatoire: true, turnover })
}

// G. ACRE: [activity start, period start] before and after each rate change,
// for each share (50 % for a business started before 2026-07-01, 75 % from
// then on), and the last period ACRE covers next to the first it does not.
const ACRE_DATES = [
  ['2021-11-01', '2022-01-01'], // started in 2021, covered until 2022-09-30
  ['2022-03-01', '2022-09-01'],
  ['2022-03-01', '2022-10-01'],
  ['2024-02-01', '2024-06-01'],
  ['2024-02-01', '2024-07-01'],
  ['2024-06-01', '2024-12-01'],
  ['2024-06-01', '2025-01-01'],
  ['2025-05-01', '2025-12-01'],
  ['2025-05-01', '2026-01-01'],
  ['2026-06-30', '2026-07-01'], // the last day of the 50 % share
  ['2026-07-01', '2026-07-01'], // the first day of the 75 % share
  ['2026-07-20', '2027-04-01'],
  ['2026-07-20', '2027-06-01'], // last month covered (until 2027-06-30)
  ['2026-07-20', '2027-07-01'], // first month not covered
  ['2025-01-15', '2025-10-01'], // last quarter covered (until 2025-12-31)
  ['2025-01-15', '2026-01-01'], // first quarter not covered, though the engine's own rule would still apply ACRE
]
const specsBeforeAcre = specs.length
for (const [acreStart, periodStart] of ACRE_DATES) {
  for (const category of CATEGORIES) {
    for (const trade of NATURAL_TRADES[category]) {
      for (const versementLiberatoire of [false, true]) {
        add({ periodStart, acreStart, trade, versementLiberatoire, turnover: { [category]: '1234.56' } })
      }
      add({ periodStart, acreStart, trade, turnover: { [category]: '2618.00' } })
    }
  }
}
// social contributions rounding both ways at every reduced rate
for (const [acreStart, periodStart] of ACRE_DATES.filter(([start, day]) => acreCovers(start, day))) {
  for (const category of CATEGORIES) {
    const trade = NATURAL_TRADES[category][0]
    const spec = { periodStart, acreStart, trade, turnover: { [category]: '0' } }
    const rate = measuredRate({ chamber: 'general', versementLiberatoire: false, ...spec }, category, 'cotisations')
    for (const amount of tieAmounts(rate, 100000 + 137 * specs.length, 100)) {
      add({ ...spec, turnover: { [category]: amount } })
    }
  }
}
// mixed activities: ACRE lowers the social contributions only
for (const [acreStart, periodStart] of [['2025-05-01', '2026-01-01'], ['2026-07-01', '2026-07-01']]) {
  for (const [trade, chamber, turnover] of MIXED.filter(([trade]) => trade !== 'commercant')) {
    add({ periodStart, acreStart, trade, chamber, versementLiberatoire: true, turnover })
  }
}
const acreCases = specs.length - specsBeforeAcre

// D. the declarations the sandbox and contract tests send, by name: those
// tests compare the sandbox's lines with these figures, written out in them.
const SCENARIOS = [
  ['trader_october_2500_50', { periodStart: '2026-10-01', trade: 'commercant', turnover: { VENTE_MARCHANDISES: '2500.50' } }],
  ['trader_october_1000', { periodStart: '2026-10-01', trade: 'commercant', turnover: { VENTE_MARCHANDISES: '1000.00' } }],
  ['trader_october_zero', { periodStart: '2026-10-01', trade: 'commercant', turnover: { VENTE_MARCHANDISES: '0.00' } }],
  ['trader_first_period_3100', { periodStart: '2026-07-20', trade: 'commercant', turnover: { PRESTATION_SERVICES_BIC: '3100.00' } }],
  [
    'craftsman_moselle_q3_mixed',
    {
      periodStart: '2026-07-01', trade: 'artisan', chamber: 'moselle',
      turnover: { VENTE_MARCHANDISES: '12345.67', PRESTATION_SERVICES_BIC: '8000.05' },
    },
  ],
  [
    'craftsman_moselle_q3_small',
    {
      periodStart: '2026-07-01', trade: 'artisan', chamber: 'moselle',
      turnover: { VENTE_MARCHANDISES: '1500.25', PRESTATION_SERVICES_BIC: '4000.00' },
    },
  ],
  ['liberal_vl_october_4321_99', { periodStart: '2026-10-01', trade: 'liberal', versementLiberatoire: true, turnover: { PRESTATION_SERVICES_BNC: '4321.99' } }],
  ['liberal_vl_october_3000', { periodStart: '2026-10-01', trade: 'liberal', versementLiberatoire: true, turnover: { PRESTATION_SERVICES_BNC: '3000.00' } }],
]
const scenarioStart = specs.length
for (const [, spec] of SCENARIOS) add(spec)

const cases = specs.map((spec, index) => {
  checkPatchIsNeutral(spec)
  const built = buildCase(index + 1, spec)
  return index >= scenarioStart ? { scenario: SCENARIOS[index - scenarioStart][0], ...built } : built
})
const totalsDifferingFromRoundedEngineTotal = cases.filter((c) => c.total !== c.engine_total_cents).length

const table = {
  header: {
    description:
      'Contributions of an auto-entrepreneur declaration as computed by Urssaf\'s official rules engine. ' +
      'Regenerate with tools/official_engine (see its README.md); do not edit by hand.',
    generator: 'tools/official_engine/generate_cases.mjs',
    generated_at: new Date().toISOString(),
    modele_social_version: packageVersion('modele-social'),
    publicodes_version: packageVersion('publicodes'),
    node_version: process.version,
    turnover_unit:
      'Each case is one declaration period; its turnover is given to the engine as €/mois and every ' +
      'figure is evaluated in €/mois, so the engine rounds on the period amount.',
    engine_patch:
      `"arrondi" removed from ${UNROUNDED_INPUTS.join(', ')} (yearly rounding of the simulated turnover); ` +
      `checked neutral on ${neutralityChecks} whole-euro cases.`,
    line_kinds: {
      cotisations: 'per-category social contributions (engine: cotisations . <category>, rounded to the euro)',
      cfp: 'contribution à la formation professionnelle (engine: CFP, unrounded; table: half up to the cent)',
      tfc: 'taxe pour frais de chambre (engine: TFC, each amount rounded to the euro)',
      versement_liberatoire: 'versement libératoire (engine: impôt . versement libératoire . montant, unrounded; table: half up to the cent)',
    },
    line_fields:
      'base: turnover of the category; rate: percent measured on the engine; amount: engine value ' +
      'rounded half up to the cent; engine_value: the raw engine number. Each line is evaluated with ' +
      'only its category\'s turnover; total is the sum of line amounts; engine_total is the engine\'s ' +
      'own figure for the whole declaration (cotisations et contributions + versement libératoire).',
    acre_fields:
      'ACRE cases only: acre_start, the activity start of an AE under ACRE; acre_applies, whether ' +
      'DOMAIN.md\'s coverage (to the end of the third calendar quarter after the start quarter) ' +
      'includes the period, so that the engine was given ACRE; acre_share, the engine\'s share of ' +
      'the normal rate (taux Acre, percent) when it applies.',
    scenario_fields:
      'Named cases only: scenario, the name the sandbox and contract tests give the declaration whose ' +
      'figures they write out.',
    social_tie_cases: socialTieCases,
    acre_cases: acreCases,
    scenario_cases: SCENARIOS.length,
    totals_differing_from_rounded_engine_total: totalsDifferingFromRoundedEngineTotal,
    case_count: cases.length,
  },
  cases,
}
// One case a line, so that a regeneration diffs readably.
const header = JSON.stringify(table.header, null, 2).replace(/\n/g, '\n  ')
const body = cases.map((c) => '    ' + JSON.stringify(c)).join(',\n')
writeFileSync(OUTPUT, `{\n  "header": ${header},\n  "cases": [\n${body}\n  ]\n}\n`)
console.log(
  `${cases.length} cases written to ${OUTPUT} (modele-social ${table.header.modele_social_version}, ` +
    `publicodes ${table.header.publicodes_version}; ${neutralityChecks} patch-neutrality checks; ` +
    `${totalsDifferingFromRoundedEngineTotal} totals differ by a cent from the rounded engine total)`,
)
