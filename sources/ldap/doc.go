// Package ldap is the LDAP directory source: it reads groups and users
// into a worker.Snapshot (worker.Source), re-reads a few groups cheaply
// (worker.GroupReader) and reports changes as they happen (worker.Watcher)
// with syncrepl, Active Directory DirSync or polling.
//
// # Reading
//
// Users and groups are read with RFC 2696 paged searches. Member values
// are resolved against the users read, never with one search per member;
// a member that is itself a group becomes a MemberGroups entry (the worker
// flattens nesting, cycles included). Members outside the configured bases
// or filters are ignored, and nested groups are followed only when they
// are within the group base and match the group filter. Active Directory range retrieval
// ("member;range=0-1499") is followed for big groups. Every filter built
// from configuration or data is escaped with ldap.EscapeFilter.
//
// A snapshot is Complete only when every page was read: a size or time
// limit, an administrative limit, a referral that was not followed, a
// partial result or an entry that cannot be decoded makes it incomplete,
// with the reason, and the worker then deletes nothing. Connection, bind
// and other errors fail the read.
//
// ReadGroups reads the named groups by id, the groups nested below them
// and their members; members are looked up in batches by their RDN
// ((|(uid=a)(uid=b)...)) and matched on the full DN.
//
// # Watching
//
// Watch mode "syncrepl" runs an RFC 4533 refreshAndPersist search over
// the lowest DN above both bases, keyed on entryUUID. A membership change
// arrives as the whole group entry and is compared with the last member
// set; a rename is a modify with a new DN; a delete carries only the UUID
// and is named from memory. The cookie is saved through CookieStore after
// every message; on start with a saved cookie the source first reads the
// directory (to know who is in which group), then resumes, reporting every
// entry the refresh sends and every group that names a member that no
// longer exists. A present phase (what slapd sends when the session log
// does not reach back far enough) prunes everything not named. A cookie
// the server refuses (e-syncRefreshRequired, a garbage cookie) is dropped
// and the refresh runs in full, compared with what was known (slapd 2.5
// answers unknown or garbage cookies with a full refresh instead, which
// is reported entry by entry). The syncrepl connection has no read
// timeout (TCP keepalive finds a dead peer); lost connections are retried
// forever with exponential backoff and jitter.
//
// Watch mode "dirsync" polls Active Directory with the DirSync control
// every PollInterval, persisting its cookie the same way; changed
// attributes are merged into the last full entry, isDeleted entries are
// deletions. slapd has no DirSync, so it is tested with recorded responses
// only. The search base is the lowest DN above both bases: AD requires it
// to be a naming context root, so put both bases under the domain root or
// set them to it. Range retrieval is not applied to DirSync deltas.
//
// Watch mode "poll" searches for entries whose modifyTimestamp is at or
// after the newest one seen, every PollInterval, and reads everything
// every FullReadInterval to find deletions. "auto" picks syncrepl when the
// root DSE advertises 1.3.6.1.4.1.4203.1.9.1.1, DirSync when it advertises
// 1.2.840.113556.1.4.841, else poll; "none" reports nothing (the scheduled
// full reconciliation still runs).
//
// A change names the affected groups and every group above them; a user
// change names every group the user is in, so a disabled or re-mailed user
// is re-resolved. Changes are triggers: the worker re-reads the groups.
//
// # Options
//
// Every Config field, with its YAML key as the configuration reference
// spells it and its default:
//
//	name                 source name in logs, metrics, plans ("ldap")
//	urls                 servers tried in order: ldap://, ldaps://, ldapi:// (required)
//	startTLS             upgrade ldap:// with StartTLS (false)
//	caFile               CA bundle to verify the server (system roots)
//	clientCertFile       client certificate for TLS, with clientKeyFile
//	clientKeyFile
//	serverName           name checked in the server certificate (the URL's host)
//	insecureSkipVerify   do not verify the certificate; logged as a warning (false)
//	bindDN               DN for a simple bind (required unless anonymous)
//	bindPassword         its password; cmd reads bindPasswordFile into it; never logged
//	anonymous            allow running without bindDN (false)
//	connectTimeout       dial + TLS + bind (10s)
//	operationTimeout     each request on read connections, not on syncrepl (60s)
//	schema               openldap | rfc2307bis | rfc2307 | 389ds | activedirectory (openldap)
//	groupBaseDN          where groups are (required)
//	userBaseDN           where users are (required)
//	groupScope           sub | one | base (sub)
//	userScope            sub | one | base (sub)
//	groupFilter          extra filter ANDed with the group classes, e.g. (cn=lightdash-*)
//	userFilter           extra filter ANDed with the user classes (AD: (objectCategory=person))
//	pageSize             RFC 2696 page size (500)
//	groupObjectClasses   preset: groupOfNames, groupOfUniqueNames | posixGroup | group
//	userObjectClasses    preset: inetOrgPerson | posixAccount | user
//	memberAttributes     preset: member, uniqueMember | memberUid | member
//	memberValue          dn | uid: memberUid holds user names (preset)
//	userNameAttribute    login name matched by memberUid (uid; AD sAMAccountName)
//	idAttribute          stable id: entryUUID | nsUniqueId (389ds) | objectGUID (AD, shown as a GUID string)
//	emailAttributes      tried in order; the first is Email, the rest AltEmails (mail; AD mail, userPrincipalName)
//	displayNameAttribute users' name in reports (cn; AD displayName)
//	groupNameAttribute   groups' name (cn)
//	disabled             none | ad (userAccountControl bit 2) | attribute (none; 389ds attribute; AD ad)
//	disabledAttr         with disabled: attribute (389ds nsAccountLock)
//	disabledValues       values meaning disabled, case-insensitive (389ds "true")
//	watch                auto | syncrepl | dirsync | poll | none (auto)
//	pollInterval         poll and dirsync interval (30s)
//	fullReadInterval     poll mode full read, to find deletions (10m)
//	reconnectMin         first reconnect delay (1s)
//	reconnectMax         longest reconnect delay (1m)
//	cookieKey            key of the saved cookie (derived from name and bases)
//
// OpenLDAP example:
//
//	sources:
//	  - type: ldap
//	    name: corp
//	    urls: [ldap://ldap1.example.com, ldap://ldap2.example.com]
//	    startTLS: true
//	    caFile: /etc/ssl/certs/corp-ca.pem
//	    bindDN: cn=lightdash-sync,ou=services,dc=example,dc=com
//	    bindPasswordFile: /run/secrets/ldap-password
//	    schema: openldap
//	    groupBaseDN: ou=groups,dc=example,dc=com
//	    groupFilter: (cn=lightdash-*)
//	    userBaseDN: ou=people,dc=example,dc=com
//	    watch: syncrepl
//
// Active Directory example:
//
//	sources:
//	  - type: ldap
//	    name: ad
//	    urls: [ldaps://dc1.corp.example:636, ldaps://dc2.corp.example:636]
//	    caFile: /etc/ssl/certs/corp-root.pem
//	    bindDN: CN=svc-lightdash,OU=Service Accounts,DC=corp,DC=example
//	    bindPasswordFile: /run/secrets/ad-password
//	    schema: activedirectory
//	    groupBaseDN: DC=corp,DC=example
//	    groupFilter: (cn=Lightdash *)
//	    userBaseDN: DC=corp,DC=example
//	    emailAttributes: [mail, userPrincipalName]
//	    watch: dirsync
//	    pollInterval: 1m
//
// Not done: LDAP_MATCHING_RULE_IN_CHAIN for nested AD groups (nesting is
// walked through member DNs instead), uSNChanged for polling, SASL binds.
//
// # Metrics
//
//	lightdash_sync_ldap_connected{source}                 1 while the watcher holds a connection
//	lightdash_sync_ldap_searches_total{source,kind,result} searches (users, groups, members, poll, dirsync; ok, incomplete, error)
//	lightdash_sync_ldap_entries_read_total{source,kind}   entries read
//	lightdash_sync_ldap_changes_total{source,mode}        changes sent to the worker
//	lightdash_sync_ldap_reconnects_total{source}          watcher reconnects
package ldap
