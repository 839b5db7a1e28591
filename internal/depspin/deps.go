package depspin
import (
 _ "golang.org/x/crypto/bcrypt"
 _ "golang.org/x/crypto/argon2"
 _ "golang.org/x/text/unicode/norm"
 _ "github.com/golang-jwt/jwt/v5"
 _ "modernc.org/sqlite"
 _ "github.com/go-sql-driver/mysql"
 _ "github.com/jackc/pgx/v5/stdlib"
 _ "github.com/chromedp/chromedp"
)
