import Access
import FHIRCore

extension FHIREngine {
    /// `Patient/[id]/$overview`: the chart the web app opens with, as Parameters — the Patient, then
    /// every module's chart parts (banner first), each record under its part's name.
    func overview(patientID: String) async throws -> FHIRResponse {
        let chart = try await gateway.overview.chart(patientID: patientID, session: data)
        var out = ParametersBuilder()
        out.add("patient", resource: chart.patient)
        for place in [ChartPart.Place.banner, .overview] {
            for (_, entries) in chart.parts(in: place) {
                for entry in entries { out.add(entry.name, resource: entry.record) }
            }
        }
        return response(.parameters(out))
    }
}
