package fcmfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
)

// serviceAccountKeyBits is the RSA key size Google issues for service accounts.
const serviceAccountKeyBits = 2048

// NewServiceAccount generates a Google service-account JSON key file for
// projectID whose token_uri is tokenURI (the fake's token endpoint URL), in
// the shape the Firebase console downloads. It returns the JSON, the
// account's client_email and the public key to trust (Config.ServiceAccounts
// or Fake.AddServiceAccount). The JSON holds a private key: keep it out of
// logs.
func NewServiceAccount(projectID, tokenURI string) (jsonKey []byte, email string, pub *rsa.PublicKey, err error) {
	if projectID == "" || tokenURI == "" {
		return nil, "", nil, fmt.Errorf("fcmfake: service account: project id and token URI are required")
	}
	key, err := rsa.GenerateKey(rand.Reader, serviceAccountKeyBits)
	if err != nil {
		return nil, "", nil, fmt.Errorf("fcmfake: service account key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, "", nil, fmt.Errorf("fcmfake: service account key: %w", err)
	}
	id := make([]byte, 20)
	if _, err := rand.Read(id); err != nil {
		return nil, "", nil, fmt.Errorf("fcmfake: service account key id: %w", err)
	}
	email = "firebase-adminsdk-fake@" + projectID + ".iam.gserviceaccount.com"
	jsonKey, err = json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  projectID,
		"private_key_id":              hex.EncodeToString(id),
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                email,
		"client_id":                   "100000000000000000000",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   tokenURI,
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	if err != nil {
		return nil, "", nil, fmt.Errorf("fcmfake: service account JSON: %w", err)
	}
	return jsonKey, email, &key.PublicKey, nil
}
