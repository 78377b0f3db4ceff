import Access
import FHIRCore
import Foundation
import StoreModel

/// Kärna's own code systems and extensions for patient administration.
public enum AdministrationCodes {
    public static let visitType = "https://karna.se/fhir/CodeSystem/besokstyp"
    public static let contactType = "https://karna.se/fhir/CodeSystem/kontakttyp"
    public static let referralStatus = "https://karna.se/fhir/CodeSystem/remisstatus"
    public static let taskCode = "https://karna.se/fhir/CodeSystem/arbetsuppgift"
    public static let careGuarantee = "https://karna.se/fhir/StructureDefinition/vardgaranti"
    public static let careGuaranteeDue = "https://karna.se/fhir/StructureDefinition/vardgaranti-sista-dag"
    public static let expectedDischarge = "https://karna.se/fhir/StructureDefinition/forvantad-utskrivning"
    public static let listingUnit = "https://karna.se/fhir/StructureDefinition/listning"
    public static let interpreterRequired = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
    public static let notificationCategory = "https://karna.se/fhir/CodeSystem/avisering"
    public static let deliveryAttempts = "https://karna.se/fhir/StructureDefinition/leveransforsok"
    public static let accountType = "https://karna.se/fhir/CodeSystem/kontotyp"
    public static let accumulated = "https://karna.se/fhir/StructureDefinition/hogkostnadsskydd-belopp"
    public static let frikort = "https://karna.se/fhir/StructureDefinition/frikort"
    public static let paymentMethod = "https://karna.se/fhir/CodeSystem/betalsatt"
    public static let feeExemption = "https://karna.se/fhir/CodeSystem/avgiftsbefrielse"
    public static let actCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    /// A bed request (vårdplatsbeställning) the emergency department sends the ward: a Task the ward owns, coded in the
    /// care flows' system; the ward's admission of the patient completes it.
    public static let bedRequest = (system: "https://karna.se/fhir/CodeSystem/vardflode", code: "vardplatsbestallning")
}
