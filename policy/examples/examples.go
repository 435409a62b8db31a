// Package examples ships the example policy file inside the binary: the sandbox runs with
// it, and operators copy it as a starting point (policy.yaml in this folder).
package examples

import _ "embed"

// Policy is the example policy file, guard rails fitted to the sandbox's demo tenant.
//
//go:embed policy.yaml
var Policy []byte

// PolicyName is how errors and the audit log name the embedded file.
const PolicyName = "policy/examples/policy.yaml"
