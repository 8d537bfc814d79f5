module github.com/SherClockHolmes/webpush-go

require (
	github.com/golang-jwt/jwt/v5 v5.2.1
	golang.org/x/crypto v0.31.0
)

go 1.13
