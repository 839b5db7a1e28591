package auth

// HashRecoveryCode lets the external tests store a known recovery code.
var HashRecoveryCode = hashRecoveryCode
