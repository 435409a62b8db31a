package tools

import (
	"context"

	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/msidm/msidm/clients/ads"

	"github.com/msidm/msidm/clients/graph"
	"github.com/msidm/msidm/policy"
)

type findEverywhereInput struct {
	Person string `json:"person" jsonschema:"minLength=1" jsonschema_description:"Entra object id, userPrincipalName or any e-mail address of the person."`
	// ContactEmails also reads every Ads user's profile to match contact e-mails, not only
	// sign-in names: one GetUser per Ads user, so it is slower on large customers.
	ContactEmails bool `json:"match_contact_emails,omitempty" jsonschema_description:"Also match Ads contact e-mails (slower: reads every profile)."`
}

func (in *findEverywhereInput) validate() error {
	if strings.TrimSpace(in.Person) == "" {
		return inputError("person is required: an object id, userPrincipalName or e-mail address")
	}
	return nil
}

// PersonEverywhere is find_user_everywhere's output.
type PersonEverywhere struct {
	Addresses   []string         `json:"addresses" jsonschema_description:"Every address the person is known by (UPN, mail, proxyAddresses, otherMails)."`
	Entra       *EntraUser       `json:"entra,omitempty"`
	AdsUsers    []AdsMatch       `json:"ads_users"`
	Invitations []InvitationView `json:"ads_invitations"`
	Customers   int              `json:"customers_searched"`
	Errors      []string         `json:"errors,omitempty" jsonschema_description:"Customers or systems that could not be searched; the result may be incomplete."`

	user *graph.User // the Entra user as read, for callers that plan from it
}

// AdsMatch is a Microsoft Advertising user that belongs to the person.
type AdsMatch struct {
	AdsUser
	CustomerID int64  `json:"customer_id"`
	MatchedBy  string `json:"matched_by" jsonschema_description:"user_name or contact_email"`
}

func (p PersonEverywhere) Text() string {
	var b strings.Builder
	if p.Entra != nil {
		state := "sign-in allowed"
		if !p.Entra.Enabled {
			state = "SIGN-IN BLOCKED"
		}
		fmt.Fprintf(&b, "Entra: %s (%s), %s, id %s\n", p.Entra.DisplayName, p.Entra.UPN, state, p.Entra.ID)
	} else {
		b.WriteString("Entra: no user\n")
	}
	fmt.Fprintf(&b, "Microsoft Advertising (%d customers searched): %d users, %d pending invitations\n", p.Customers, len(p.AdsUsers), len(p.Invitations))
	for _, u := range p.AdsUsers {
		fmt.Fprintf(&b, "- customer %d user %d %s %s (by %s)\n", u.CustomerID, u.ID, u.UserName, u.Status, u.MatchedBy)
	}
	for _, i := range p.Invitations {
		fmt.Fprintf(&b, "- invitation %d to %s as %s, expires %s\n", i.ID, i.Email, i.Role, i.Expires)
	}
	for _, e := range p.Errors {
		fmt.Fprintf(&b, "incomplete: %s\n", e)
	}
	return b.String()
}

func findUserEverywhere(d *Deps) Tool {
	return define(spec{Name: "find_user_everywhere", Title: "Find a person in Entra ID and Microsoft Advertising",
		Description: "Find one person in Entra ID (by id, UPN or any e-mail) and in every reachable Microsoft Advertising customer (users and pending invitations).",
		Toolset:     ToolsetCross, Effect: policy.Read},
		func(ctx context.Context, call *Call, in findEverywhereInput) (PersonEverywhere, error) {
			return d.findEverywhere(ctx, call, in.Person, in.ContactEmails)
		}, d.errors)
}

// findEverywhere is shared with offboarding: the person's addresses from Entra (or just the
// given address when Entra does not know it), then every customer searched in parallel.
func (d *Deps) findEverywhere(ctx context.Context, call *Call, person string, contactEmails bool) (PersonEverywhere, error) {
	out := PersonEverywhere{AdsUsers: []AdsMatch{}, Invitations: []InvitationView{}}
	addrs := map[string]bool{}
	u, err := d.resolveUser(ctx, person)
	switch {
	case err == nil:
		eu := compactEntraUser(*u)
		out.Entra, out.user = &eu, u
		for _, a := range personAddresses(u) {
			addrs[strings.ToLower(a)] = true
		}
	case isInputError(err) && strings.Contains(person, "@"):
		addrs[strings.ToLower(strings.TrimSpace(person))] = true // not in Entra: still search Ads
	default:
		return out, err
	}
	for a := range addrs {
		out.Addresses = append(out.Addresses, a)
	}
	customers, err := d.Ads.GetCustomersInfo(ctx, "", maxCustomers)
	if err != nil {
		return out, err
	}
	out.Customers = len(customers)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, d.Concurrency/4))
	for _, c := range customers {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			matches, invs, err := d.searchCustomer(ctx, c.ID, addrs, contactEmails)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				out.Errors = append(out.Errors, fmt.Sprintf("customer %d: %s", c.ID, explain(err)))
				return
			}
			out.AdsUsers = append(out.AdsUsers, matches...)
			out.Invitations = append(out.Invitations, invs...)
			call.Progress(ctx, len(out.AdsUsers), len(customers), "searching Microsoft Advertising customers")
		})
	}
	wg.Wait()
	return out, nil
}

// personAddresses lists every address an Entra user is known by.
func personAddresses(u *graph.User) []string {
	out := []string{u.UserPrincipalName}
	if u.Mail != "" {
		out = append(out, u.Mail)
	}
	out = append(out, u.OtherMails...)
	for _, p := range u.ProxyAddresses {
		if a, ok := strings.CutPrefix(strings.ToLower(p), "smtp:"); ok {
			out = append(out, a)
		}
	}
	return out
}

// searchCustomer finds a customer's users whose sign-in name (or, when asked, contact
// e-mail) is one of addrs, with their profiles, and the pending invitations to addrs. The
// invitations are searched while the users are read, and every profile needed is read in one
// bounded fan-out, to keep the round trips few.
func (d *Deps) searchCustomer(ctx context.Context, customer int64, addrs map[string]bool, contactEmails bool) ([]AdsMatch, []InvitationView, error) {
	var invs []ads.UserInvitation
	var invErr error
	var wg sync.WaitGroup
	wg.Go(func() { invs, invErr = d.Ads.SearchUserInvitations(ctx, customer, "") })
	users, err := usersWithStatus(ctx, d.Ads, customer, "all")
	wg.Wait()
	if err != nil {
		return nil, nil, err
	}
	if invErr != nil {
		return nil, nil, invErr
	}
	// Profiles: every user when contact e-mails count, otherwise only the sign-in matches.
	var read []AdsUser
	for _, u := range users {
		if contactEmails || addrs[strings.ToLower(u.UserName)] {
			read = append(read, u)
		}
	}
	addProfiles(ctx, nil, d.Ads, d.Concurrency, read)
	var matches []AdsMatch
	for _, u := range read {
		switch {
		case addrs[strings.ToLower(u.UserName)]:
			matches = append(matches, AdsMatch{AdsUser: u, CustomerID: customer, MatchedBy: "user_name"})
		case u.Email != "" && addrs[strings.ToLower(u.Email)]:
			matches = append(matches, AdsMatch{AdsUser: u, CustomerID: customer, MatchedBy: "contact_email"})
		}
	}
	var pending []InvitationView
	now := time.Now()
	for _, i := range invs {
		if addrs[strings.ToLower(i.Email)] {
			pending = append(pending, invitationView(i, now))
		}
	}
	return matches, pending, nil
}

func isInputError(err error) bool {
	_, ok := err.(*InputError)
	return ok
}
