//! Unit tests of [`super`]: attack strings, benign strings, queries.

use super::*;

fn rule(s: &str) -> Option<SqliRule> {
    in_http_value(s.as_bytes()).map(|m| m.rule)
}

#[test]
fn attacks_in_http_values() {
    use SqliRule::*;
    for (s, r) in [
        ("1' or 1=1--", Tautology),
        ("' OR 'a'='a", Tautology),
        ("2' OR '2'='2", Tautology),
        ("x') or ('x'='x", Tautology),
        ("1 or 1=1", Tautology),
        ("\" or \"\"=\"", Tautology),
        ("' or 1 -- -", Tautology),
        ("1' and 1=1#", Tautology),
        ("admin' or '1'='1'--", Tautology),
        ("' or ''='", Tautology),
        ("1) or (1=1", Tautology),
        ("' OR 1=1 LIMIT 1 --", Tautology),
        ("1 AND 1=2 UNION ALL SELECT 1,2,3--", UnionSelect),
        ("'; EXEC xp_cmdshell('dir')--", StackedQuery),
        ("1' ORDER BY 3--+", OrderByProbe),
        ("1' AND (SELECT 1 FROM (SELECT SLEEP(5))a)--", BlindSubquery),
        ("' AND 1=CONVERT(int,@@version)--", SchemaProbe),
        (
            "1 AND ASCII(SUBSTRING((SELECT password FROM users LIMIT 1),1,1))>64",
            BlindSubquery,
        ),
        ("admin'--", CommentTruncation),
        ("admin' #", CommentTruncation),
        ("admin')/*", CommentTruncation),
        ("a' UNION SELECT \"text1\",\"text2\";-- -", UnionSelect),
        ("-1 union all select null,null", UnionSelect),
        ("1 UNION SELECT username, password FROM users", UnionSelect),
        ("x'; DROP TABLE users; --", StackedQuery),
        ("1; delete from logs", StackedQuery),
        ("1 and sleep(5)", TimeBlind),
        ("1' and SLEEP(5)#", TimeBlind),
        ("benchmark(5000000,md5(1))", TimeBlind),
        ("1;waitfor delay '0:0:5'--", StackedQuery),
        ("' || pg_sleep(10)--", TimeBlind),
        ("and extractvalue(1,concat(0x7e,version()))", ErrorBased),
        ("select @@version", SchemaProbe),
        (
            "1 and (select count(*) from information_schema.tables)>0",
            BlindSubquery,
        ),
    ] {
        assert_eq!(rule(s), Some(r), "{s}");
    }
    let m = in_http_value(b"2' OR '2'='2").unwrap();
    assert_eq!(m.context, SqlContext::SingleQuote);
    assert_eq!(m.fingerprint, "s&sos");
    assert_eq!(m.fragment, "OR '2'='2");
}

#[test]
fn benign_http_values() {
    for s in [
        "select a product",
        "O'Reilly",
        "Rock 'n' Roll",
        "don't or won't",
        "the union select their leader",
        "union select members",
        "Joe's #1 pizza",
        "it's 1 or 2",
        "{\"a\":\"x or y\",\"b\":[1,2]}",
        "https://example.com/a/b?c=d&e=f",
        "dGhpcyBpcyBiYXNlNjQ/Kw==",
        "2024-01-01 12:00:00",
        "+1 (555) 123-4567",
        "ORD-2024-000123",
        "drop-down menu; select one",
        "sleep (8 hours)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)",
        "a -- b",
        "1'",
        "\"quoted\" text",
    ] {
        assert_eq!(in_http_value(s.as_bytes()), None, "{s}");
    }
}

#[test]
fn queries() {
    use SqliRule::*;
    for (s, r) in [
        ("SELECT * FROM users WHERE id=1 OR 1=1", Tautology),
        ("SELECT * FROM users WHERE name='' OR 'x'='x'", Tautology),
        (
            "SELECT a FROM t WHERE id=1 UNION SELECT NULL, NULL, version()",
            UnionSelect,
        ),
        (
            "SELECT a FROM t WHERE id=1 UNION SELECT table_name FROM information_schema.tables",
            UnionSelect,
        ),
        (
            "SELECT * FROM u WHERE n='x'; DROP TABLE u; --'",
            StackedQuery,
        ),
        (
            "SELECT * FROM u WHERE n='admin'-- ' AND p='x'",
            CommentTruncation,
        ),
        ("SELECT * FROM u WHERE id=1 AND SLEEP(5)", TimeBlind),
    ] {
        assert_eq!(in_sql_query(s.as_bytes()).map(|m| m.rule), Some(r), "{s}");
    }
    for s in [
        "SELECT * FROM users WHERE 1=1 AND id = 5",
        "SELECT a, b FROM t WHERE x = 'O''Reilly' OR y LIKE 'a%'",
        "SELECT id FROM a UNION SELECT id FROM b",
        "INSERT INTO t (a,b) VALUES ('x', 2); COMMIT",
        "UPDATE t SET a='x'; SELECT 1",
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'db'",
        "/* ORM */ SELECT x FROM t -- trailing",
        "SET NAMES utf8",
    ] {
        assert_eq!(in_sql_query(s.as_bytes()), None, "{s}");
    }
}
