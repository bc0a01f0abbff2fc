import BatonStore
import Testing

@Suite("migration scripts split into statements")
struct SQLScriptTests {
    @Test("semicolons inside strings, dollar quotes and comments do not split")
    func quoting() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE a (x text DEFAULT 'a;b');
            /* block; comment */
            CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$
            BEGIN RETURN 1; END $body$;
            COMMENT ON TABLE a IS 'it''s; fine';
            SELECT $$;$$;
            """
        let statements = SQLScript.statements(script)
        #expect(statements.count == 4)
        #expect(statements[0].hasSuffix("DEFAULT 'a;b')"))
        #expect(statements[1].contains("BEGIN RETURN 1; END $body$"))
        #expect(statements[2] == "COMMENT ON TABLE a IS 'it''s; fine'")
        #expect(statements[3] == "SELECT $$;$$")
    }

    @Test("a script of only comments has no statements")
    func commentsOnly() {
        #expect(SQLScript.statements("-- nothing\n/* here */\n").isEmpty)
    }
}
