// Package policy reads a GitOps repository's upgrade policy, the file
// .upgrade-bot.yaml at the repository root, and answers the questions the bot
// asks before it proposes a release upgrade for a cluster: may it act now
// (schedule, maintenance windows, freezes), when will it next be allowed to,
// is this upgrade one it may propose by itself (update type, ignored
// versions, pin), is the release old enough, may it merge the pull request
// itself, and which rollout wave is the cluster in.
//
// Parse checks the whole file and reports every problem at once, each naming
// the line, column and key path ("FILE:LINE:COLUMN: PATH: MESSAGE"), so that
// a broken policy can be explained to whoever pushed it while the previous
// valid one stays in force. File.For computes one cluster's effective
// Settings. Every question about time takes the time as an argument; nothing
// in this package reads a clock.
//
// # The file
//
//	timezone: Europe/Berlin           # schedules, windows and freezes are read here; default UTC
//	schedule: ["* 22-23,0-4 * * 1-5"] # cron windows (Renovate's); default: any time
//	maintenanceWindows:               # when set, the bot acts only inside one of them
//	  - rrule: "FREQ=WEEKLY;BYDAY=TU;BYHOUR=2;BYMINUTE=0"
//	    duration: 2h
//	freezes:                          # no upgrade in these periods
//	  - {start: 2026-12-20, end: 2027-01-06, reason: holidays}   # end date included
//	  - {rrule: "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20", duration: 18d, reason: year end}
//	minimumReleaseAge: 3d             # a release is proposed once it is this old
//	allowedUpdates: [patch, minor]    # the default; majors need a person to ask
//	ignoreVersions: ["v32.0.0", "~31.2"]
//	pin: "v31.x"                      # targets must satisfy this constraint
//	automerge: {updates: [patch], approvals: 1, checks: true, method: squash}
//	prConcurrentLimit: 5              # open upgrade pull requests per repository (default 10, 0 = no limit)
//	prHourlyLimit: 2                  # opened per hour per repository (default 2, 0 = no limit)
//	locators: [flux-substitute, {type: values, path: global.release.version}]  # where the version is written; default: all
//	rollout:
//	  soak: 48h                       # a wave's clusters run a release this long before the next wave gets it
//	  waves:
//	    - {name: dev, match: {organizations: [dev]}}
//	    - {name: staging, match: {labels: {stage: staging}}, soak: 7d}
//	    - {name: prod, match: {}}     # only the last wave may match every remaining cluster
//	rules:                            # later rules override earlier ones, setting by setting
//	  - description: production at night only, patches merged automatically
//	    match: {names: ["p*"], organizations: [acme], namespaces: ["org-*"], labels: {stage: prod}}
//	    schedule: ["* 0-4 * * 2-4"]
//	    automerge: {updates: [patch]}
//	  - match: {labels: {upgrades: manual}}
//	    allowedUpdates: []            # nothing is proposed; a person still can ask
//
// # Settings
//
// timezone is an IANA zone name. schedule is a list of five-field cron
// expressions (minute hour day-of-month month day-of-week; 0 or 7 is Sunday)
// read on the local clock: a time is inside when its minute matches, so
// write * in the minute field for whole hours, as Renovate requires; see
// Schedule for midnight and DST.
//
// maintenanceWindows and recurring freezes are RFC 5545 recurrence rules
// (FREQ DAILY, WEEKLY, MONTHLY or YEARLY with INTERVAL, COUNT, UNTIL, WKST
// and the BY parts) with a duration; start gives the first occurrence (a
// wall-clock date and time, "2026-01-06T02:00"), which INTERVAL and COUNT
// need and which otherwise supplies what the rule leaves out, as DTSTART
// does. Without start a rule's time of day defaults to midnight and WEEKLY,
// MONTHLY and YEARLY rules must say which day. See Window for DST. A fixed
// freeze has start and end: dates (an end date is included entirely) or
// date-times, read in the time zone unless they carry a UTC offset.
//
// Durations (minimumReleaseAge, duration, soak) are Go durations with
// optional leading days: 3d, 1d12h, 90m. minimumReleaseAge counts a day as
// 24 hours; a window's days are calendar days.
//
// allowedUpdates and automerge.updates take patch, minor and major.
// ignoreVersions and pin are semantic version constraints (Masterminds
// syntax: "v32.0.0", "~31.2", "31.x", ">=31.1, <32"); pin: "" removes an
// inherited pin. automerge.approvals defaults to 0, checks to true, method to
// merge (squash and rebase are the others). Pre-releases are never proposed
// by the bot on its own.
//
// locators lists where the repository writes a cluster's release version,
// in order: label (the bot's version label), flux-substitute (variable: a
// Flux Kustomization's post-build variable, default cluster_release),
// app-version (charts: globs on a release App's chart, default release-*)
// and values (key: a ConfigMap's data key, default values; path: a dot path
// in the values it holds, default global.release.version). An item is a
// type, or a mapping of type and its options. Without locators every one is
// tried. It applies to the whole repository; a rule cannot set it.
//
// # Rules and waves
//
// A rule's match selects clusters by name, organization, namespace and
// labels; see Selector. A rule without match applies to every cluster. Rules
// may set timezone, schedule, maintenanceWindows, freezes,
// minimumReleaseAge, allowedUpdates, ignoreVersions, pin and automerge; the
// pull request limits and the rollout belong to the repository and are set
// at the top level only. Every rule that selects a cluster applies, in file
// order: a later rule replaces a setting an earlier one (or the top level)
// set — lists are replaced, not merged, so a rule that adds a freeze
// repeats the ones it keeps — and automerge is overridden field by field. A
// setting is read in the time zone in force after all rules, so a rule that
// only changes timezone moves the inherited schedule to its zone.
//
// A cluster is in the first wave whose match selects it, or in none, which
// the rollout does not hold back.
//
// # Contradictions
//
// Parse refuses a file that cannot mean what it says: automerge of an update
// type that the same block's allowedUpdates (the default at the top level)
// does not allow, including any automerge with allowedUpdates: []; a
// schedule and maintenance windows in the same block that never overlap; a
// cron expression or recurrence rule that never matches; a freeze that ends
// before it starts; a wave defined twice or a wave matching every cluster
// before the last; a rule that changes nothing. A pin together with
// allowedUpdates is not a contradiction (the pin limits the target, the
// update type the step), nor is a pin whose versions are all ignored (Allowed
// says which setting refused); settings from different blocks are not
// compared, since which rules meet depends on the cluster.
package policy
