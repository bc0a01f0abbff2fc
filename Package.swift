// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "baton",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "baton", targets: ["baton"]),
        // The supervisor of each process job (C: a single-threaded process that forks and execs).
        .executable(name: "baton-shim", targets: ["baton-shim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        // Crypto (HMAC-SHA256 of webhook notifications, AES-GCM of secrets) comes with postgres-nio already; named here to use it.
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        // NIO and NIOSSL come with postgres-nio and hummingbird already; named here for the wake-up
        // relay's TCP server and client, TLS to PostgreSQL (sslmode, sslrootcert), and the outbound
        // HTTP client of the http executor and webhooks (BatonEngine/OutboundHTTP.swift).
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
    ],
    targets: [
        .target(name: "BatonModel"),
        .executableTarget(name: "baton-shim", cSettings: [.define("_GNU_SOURCE")]),
        // prctl for the CLI's long-running commands (not dumpable: jobs cannot read their environment).
        .target(name: "CBatonSystem"),
        .target(
            name: "BatonStore",
            dependencies: [
                "BatonModel",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "BatonEngine",
            dependencies: [
                "BatonModel", "BatonStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "BatonHTTP",
            dependencies: [
                "BatonModel", "BatonStore", "BatonEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "BatonTesting",
            dependencies: ["BatonModel", "BatonStore", "BatonEngine"]
        ),
        .executableTarget(
            name: "baton",
            dependencies: [
                "BatonModel", "BatonStore", "BatonEngine", "BatonHTTP", "CBatonSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // The CLI's API client (--api-url) sends requests through BatonEngine's OutboundHTTP.
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "BatonModelTests", dependencies: ["BatonModel"]),
        .testTarget(name: "BatonStoreTests", dependencies: ["BatonStore", "BatonTesting", .product(name: "PostgresNIO", package: "postgres-nio")], exclude: ["Fixtures"]),
        .testTarget(name: "BatonEngineTests", dependencies: ["BatonEngine", "BatonTesting"]),
        .testTarget(name: "BatonHTTPTests", dependencies: ["BatonHTTP", "BatonTesting", .product(name: "Yams", package: "Yams")]),
    ]
)
