package webpushfake

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// headerLen is the aes128gcm header with a P-256 key id: salt(16) rs(4) idlen(1) key(65).
const headerLen = 16 + 4 + 1 + 65

// decrypt does what a browser does with a push message (RFC 8291 over RFC
// 8188 aes128gcm, one record): ECDH with the sender's ephemeral key from the
// header, the two HKDF steps, AES-128-GCM open, then removal of the padding
// and its 0x02 delimiter.
func decrypt(body []byte, priv *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if len(body) < headerLen {
		return nil, fmt.Errorf("body of %d bytes is shorter than the aes128gcm header", len(body))
	}
	salt := body[:16]
	rs := binary.BigEndian.Uint32(body[16:20])
	if idlen := body[20]; idlen != 65 {
		return nil, fmt.Errorf("key id of %d bytes, want the 65-byte P-256 key", idlen)
	}
	senderKey, err := ecdh.P256().NewPublicKey(body[21:headerLen])
	if err != nil {
		return nil, fmt.Errorf("the key id is not a P-256 point: %w", err)
	}
	record := body[headerLen:]
	switch {
	case rs < 18:
		return nil, fmt.Errorf("record size %d is under 18", rs)
	case len(record) > int(rs):
		return nil, fmt.Errorf("%d bytes of records with rs %d: a push message is one record", len(record), rs)
	case len(record) < 17:
		return nil, errors.New("the record is shorter than its tag")
	}
	secret, err := priv.ECDH(senderKey)
	if err != nil {
		return nil, fmt.Errorf("ecdh: %w", err)
	}
	info := "WebPush: info\x00" + string(priv.PublicKey().Bytes()) + string(senderKey.Bytes())
	ikm, err := hkdf.Key(sha256.New, secret, auth, info, 32)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, record, nil) // record 0: the nonce as derived
	if err != nil {
		return nil, errors.New("authentication failed (wrong keys or a corrupted body)")
	}
	end := len(plain) - 1
	for end >= 0 && plain[end] == 0 {
		end--
	}
	if end < 0 || plain[end] != 0x02 {
		return nil, errors.New("no 0x02 delimiter of a last record after the padding")
	}
	return plain[:end], nil
}
