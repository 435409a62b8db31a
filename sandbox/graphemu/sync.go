package graphemu

import (
	"slices"
	"strings"
	"time"
)

// Simulated directory synchronisation for users with onPremisesSyncEnabled.
//
// Active Directory is the source of authority for a synced user's AD-mastered attributes:
// the next Entra Connect sync cycle overwrites cloud edits of them (NOTES §1.4; the real
// service refuses some such edits outright with "Unable to update the specified properties for
// on-premises mastered Directory Sync objects…", which the emulator does for passwordProfile).
// The emulator accepts the PATCH with 204, as Graph does for accountEnabled and friends, and a
// simulated cycle reverts the edit after the sync delay (Server.SetSyncDelay).
//
// AD-mastered (reverted): accountEnabled, displayName, givenName, surname, jobTitle,
// department, officeLocation, city, country, mobilePhone, businessPhones, employeeId, mail,
// mailNickname, otherMails, proxyAddresses, preferredLanguage, userPrincipalName and the
// manager reference.
// Cloud-mastered (kept): usageLocation, employeeLeaveDateTime, licences, cloud group
// memberships, signInSessionsValidFromDateTime.

// defaultSyncDelay stands in for the 30-minute Entra Connect cycle, short enough for demos.
const defaultSyncDelay = 2 * time.Second

// SetSyncDelay sets how long after a cloud edit of a synced user's AD-mastered attributes the
// simulated sync cycle reverts it. 0 reverts on the next request. The default is 2 s. It
// applies to edits made after the call.
func (s *Server) SetSyncDelay(d time.Duration) {
	s.syncDelay.Store(int64(d))
}

// adMastered copies the AD-mastered attributes of ad into a copy of u.
func adMastered(u, ad *user) *user {
	c := *u
	c.accountEnabled = ad.accountEnabled
	c.displayName, c.givenName, c.surname = ad.displayName, ad.givenName, ad.surname
	c.jobTitle, c.department, c.officeLocation = ad.jobTitle, ad.department, ad.officeLocation
	c.city, c.country, c.employeeID = ad.city, ad.country, ad.employeeID
	c.mobilePhone, c.businessPhones = ad.mobilePhone, clone(ad.businessPhones)
	c.mail, c.mailNickname, c.preferredLanguage = ad.mail, ad.mailNickname, ad.preferredLanguage
	c.otherMails, c.proxyAddresses = clone(ad.otherMails), clone(ad.proxyAddresses)
	c.userPrincipalName, c.managerID = ad.userPrincipalName, ad.managerID
	return &c
}

// driftedFromAD reports whether a cloud edit changed an AD-mastered attribute of u.
func driftedFromAD(u *user) bool {
	if u.ad == nil {
		return false
	}
	r := adMastered(u, u.ad)
	return r.accountEnabled != u.accountEnabled || r.displayName != u.displayName || r.givenName != u.givenName ||
		r.surname != u.surname || r.jobTitle != u.jobTitle || r.department != u.department ||
		r.officeLocation != u.officeLocation || r.city != u.city || r.country != u.country ||
		r.employeeID != u.employeeID || r.mobilePhone != u.mobilePhone || r.mail != u.mail ||
		r.mailNickname != u.mailNickname || r.preferredLanguage != u.preferredLanguage ||
		r.userPrincipalName != u.userPrincipalName || !strings.EqualFold(r.managerID, u.managerID) ||
		!slices.Equal(r.businessPhones, u.businessPhones) || !slices.Equal(r.otherMails, u.otherMails) ||
		!slices.Equal(r.proxyAddresses, u.proxyAddresses)
}

// scheduleRevert marks u (about to be stored) for a revert if it drifted from AD. The caller
// holds d.mu for writing.
func (s *Server) scheduleRevert(u *user, now time.Time) {
	id := strings.ToLower(u.id)
	if !driftedFromAD(u) {
		u.revertDue = time.Time{}
		delete(s.dir.pendingRevert, id)
		return
	}
	if u.revertDue.IsZero() {
		u.revertDue = now.Add(time.Duration(s.syncDelay.Load()))
	}
	s.dir.pendingRevert[id] = true
	s.dir.schedule(u.revertDue)
}

// runSyncReverts applies the reverts due by now, logging each as an upsert. Soft-deleted
// users are skipped (a sync of a deleted object is the restore's business). The caller
// holds d.mu for writing.
func (d *directory) runSyncReverts(now time.Time) {
	for id := range d.pendingRevert {
		u := d.byID[id]
		if u == nil {
			delete(d.pendingRevert, id)
			continue
		}
		if now.Before(u.revertDue) {
			d.schedule(u.revertDue)
			continue
		}
		r := adMastered(u, u.ad)
		r.revertDue = time.Time{}
		delete(d.pendingRevert, id)
		if other := d.byUPN[strings.ToLower(r.userPrincipalName)]; other != nil && other != u {
			continue // the AD UPN was taken in the cloud meanwhile: a sync error, nothing synced
		}
		d.insert(r)
		d.logChange(r.id, objectUser, kindUpsert, now)
	}
}
