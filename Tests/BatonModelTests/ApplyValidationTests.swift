import BatonModel
import Testing

@Suite("apply documents are validated before anything is written")
struct ApplyValidationTests {
    func documents(_ json: String) throws -> [JSONValue] {
        try JSONValue.parse(json).arrayValue ?? []
    }

    func issues(_ json: String, existing: [ComponentKey: ExecutorSpec] = [:]) throws -> [DocumentIssue] {
        switch ApplySet.validate(try documents(json), existing: existing, existingProjects: ["default"]) {
        case .success: return []
        case .failure(let issues): return issues.items
        }
    }

    @Test("a valid file yields its components and configurations, configurations before components allowed")
    func valid() throws {
        let docs = try documents("""
            [{"kind": "configuration", "component": "ex", "id": "c1", "parameters": {"seconds": 1}},
             {"kind": "component", "id": "ex", "executor": {"type": "sleep"}},
             {"kind": "component", "id": "run", "executor": {"type": "process", "command": ["python3", "x.py"]}}]
            """)
        let set = try ApplySet.validate(docs, existing: [:], existingProjects: ["default"]).get()
        #expect(set.components.map(\.id) == ["ex", "run"])
        #expect(set.configurations.map(\.id) == ["c1"])
        #expect(set.configurations[0].name == "c1")
        #expect(set.components[1].executor == .process(command: ["python3", "x.py"], environment: [:], workingDirectory: nil))
    }

    @Test("an unknown executor is named with its document and field")
    func wrongExecutor() throws {
        let found = try issues(#"[{"kind": "component", "id": "x", "executor": {"type": "docker"}}]"#)
        #expect(found.count == 1)
        #expect(found[0].document == 1 && found[0].field == "executor.type")
        #expect(found[0].description.contains("unknown executor 'docker'"))
        #expect(found[0].description.contains("document 1 (component 'x')"))
    }

    @Test("a shell string instead of argv is refused with the fix")
    func shellString() throws {
        let found = try issues(#"[{"kind": "component", "id": "x", "executor": {"type": "process", "command": "echo hi"}}]"#)
        #expect(found.map(\.field) == ["executor.command"])
        #expect(found[0].message.contains("[\"sh\", \"-c\""))
    }

    @Test("missing fields are each reported, all at once")
    func missingFields() throws {
        let found = try issues("""
            [{"kind": "component", "id": "a"},
             {"kind": "configuration", "id": "c"},
             {"id": "z"},
             {"kind": "component", "executor": {"type": "noop"}}]
            """)
        #expect(found.map(\.document) == [1, 2, 3, 4])
        #expect(found.map(\.field) == ["executor", "component", "kind", "id"])
    }

    @Test("duplicate ids in one file are refused")
    func duplicates() throws {
        let found = try issues("""
            [{"kind": "component", "id": "a", "executor": {"type": "noop"}},
             {"kind": "component", "id": "a", "executor": {"type": "noop"}},
             {"kind": "configuration", "component": "a", "id": "c"},
             {"kind": "configuration", "component": "a", "id": "c"}]
            """)
        #expect(found.map(\.document) == [2, 4])
        #expect(found.allSatisfy { $0.field == "id" && $0.message.contains("duplicate") })
    }

    @Test("a configuration of an unknown component is refused; one already in the database is accepted")
    func unknownComponent() throws {
        let doc = #"[{"kind": "configuration", "component": "elsewhere", "id": "c"}]"#
        #expect(try issues(doc).map(\.field) == ["component"])
        #expect(try issues(doc, existing: [ComponentKey(projectId: "default", componentId: "elsewhere"): .noop]).isEmpty)
        #expect(ApplySet.referencedComponents(in: try documents(doc)) == [ComponentKey(projectId: "default", componentId: "elsewhere")])
    }

    @Test("parameters are checked against the executor")
    func parameters() throws {
        let found = try issues("""
            [{"kind": "component", "id": "s", "executor": {"type": "sleep"}},
             {"kind": "configuration", "component": "s", "id": "bad", "parameters": {"seconds": "ten"}},
             {"kind": "component", "id": "q", "executor": {"type": "sql", "databaseUrlEnv": "WAREHOUSE"}},
             {"kind": "configuration", "component": "q", "id": "nosql"}]
            """)
        #expect(found.map(\.field) == ["parameters.seconds", "parameters.sql"])
    }

    @Test("Keboola's numeric ids read as strings")
    func numericIds() throws {
        let set = try ApplySet.validate(try documents("""
            [{"kind": "component", "id": 123, "executor": {"type": "noop"}},
             {"kind": "configuration", "component": 123, "id": 807968875}]
            """), existing: [:], existingProjects: ["default"]).get()
        #expect(set.configurations[0].componentId == "123" && set.configurations[0].id == "807968875")
    }

    @Test("a project sets the parallel limit; components of an unknown project are refused")
    func projects() throws {
        let set = try ApplySet.validate(try documents("""
            [{"kind": "project", "id": "p2", "maxParallelJobs": 2},
             {"kind": "component", "project": "p2", "id": "a", "executor": {"type": "noop"}}]
            """), existing: [:], existingProjects: ["default"]).get()
        #expect(set.projects == [ProjectSpec(id: "p2", name: "p2", maxParallelJobs: 2)])
        let found = try issues(#"[{"kind": "component", "project": "nope", "id": "a", "executor": {"type": "noop"}}]"#)
        #expect(found.map(\.field) == ["project"])
        let limit = try issues(#"[{"kind": "project", "id": "p", "maxParallelJobs": 0}]"#)
        #expect(limit.map(\.field) == ["maxParallelJobs"])
    }
}

@Suite("statuses and values")
struct StatusTests {
    @Test("final statuses are exactly Keboola's five")
    func finalStatuses() {
        #expect(JobStatus.allCases.filter(\.isFinal) == [.success, .warning, .error, .terminated, .cancelled])
        #expect(JobStatus.allCases.filter(\.isRunning) == [.processing, .terminating])
    }

    @Test("job overrides replace top-level parameters only")
    func overlay() throws {
        let base = try JSONValue.parse(#"{"a": 1, "nested": {"x": 1, "y": 2}}"#)
        let merged = base.overlaid(with: try JSONValue.parse(#"{"nested": {"x": 5}, "b": true}"#))
        #expect(merged == (try JSONValue.parse(#"{"a": 1, "nested": {"x": 5}, "b": true}"#)))
        #expect(base.overlaid(with: nil) == base)
    }

    @Test("a job prints Keboola's field names with string ids")
    func jobJSON() {
        let job = Job(id: 42, runId: "42", status: .waiting, componentId: "c", configId: "x", createdTime: .init(timeIntervalSince1970: 0), waitingReason: .configurationLock)
        let json = job.json
        #expect(json["id"] == "42")
        #expect(json["runId"] == "42")
        #expect(json["component"] == "c" && json["config"] == "x")
        #expect(json["isFinished"] == false)
        #expect(json["waitingReason"] == "configuration-lock")
        #expect(json["createdTime"] == "1970-01-01T00:00:00.000Z")
    }
}
