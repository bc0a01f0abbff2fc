import BatonModel
import Hummingbird
import NIOCore

// Errors reach clients here and nowhere else: every failure becomes a BatonError, its code picks
// the status, and the body is `{error, code, field?, details?}` with the code spelled as
// `BatonError.Code` spells it (openapi.yaml's Error schema lists them).

extension BatonError.Code {
    /// The HTTP status of an error with this code, for the API and the console alike.
    var httpStatus: HTTPResponse.Status {
        switch self {
        case .invalidInput: .badRequest
        // The database refused the data it was given: bad input that got past validation.
        case .refused: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .tooLarge: .contentTooLarge
        case .unavailable, .environment: .serviceUnavailable
        default: .internalServerError
        }
    }
}

extension API {
    /// `error` as a client may see it. Anything but a BatonError is logged and answered as
    /// `internal`: database text never reaches the caller; the log has it.
    func visible(_ error: any Error, path: String) -> BatonError {
        switch error {
        case let error as BatonError:
            return error
        case is NIOTooManyBytesError:
            return BatonError(.tooLarge, "the request body is larger than \(API.maxBodyBytes) bytes", field: "body")
        case let error as HTTPError:
            let code: BatonError.Code = switch error.status.code {
            case 401: .unauthorized
            case 403: .forbidden
            case 404: .notFound
            case 409: .conflict
            case 413: .tooLarge
            case 400..<500: .invalidInput
            default: .internal
            }
            return BatonError(code, error.body ?? error.status.reasonPhrase)
        default:
            logger.error("request failed", metadata: ["path": "\(path)", "error": "\(String(reflecting: error).prefix(500))"])
            return BatonError(.internal, "internal error; the server log has the details")
        }
    }

    func errorResponse(_ error: BatonError) -> Response {
        var body: [String: JSONValue] = ["error": .string(error.message), "code": .string(error.code.rawValue)]
        if let field = error.field { body["field"] = .string(field) }
        if !error.details.isEmpty { body["details"] = .array(error.details.map { .string($0) }) }
        return json(error.code.httpStatus, .object(body))
    }
}
