/// The version of Baton (`baton --version`, and each worker's row in `workers`).
public let batonVersion = "0.17.0"
