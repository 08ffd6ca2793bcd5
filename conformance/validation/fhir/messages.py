"""French and English texts for every rule id the FHIR validator emits (ids follow the HL7 Java validator)."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, tuple[str, str]] = {
    "Display_Name_for__should_be_one_of__instead_of": (
        "Libellé incorrect '{0}' pour {1}#{2} : le libellé valide est {3}",
        "Wrong Display Name '{0}' for {1}#{2}. Valid display is {3}",
    ),
    "SNAPSHOT_PATH_CHOICE": (
        "Erreur de génération du snapshot : le chemin doit être '{0}' et non '{1}' quand la liste des types n'est pas restreinte",
        "Error generating Snapshot: The path must be '{0}' not '{1}' when the type list is not constrained",
    ),
    "SNAPSHOT_PATH_UNKNOWN": (
        "Erreur de génération du snapshot : le chemin '{0}' ne désigne aucun élément de la base {1}",
        "Error generating Snapshot: the path '{0}' does not name an element of the base {1}",
    ),
    "SNAPSHOT_FIXED_CHANGED": (
        "La valeur est '{0}' mais la base {2} la fixe à '{1}'",
        "Value is '{0}' but is fixed to '{1}' in the profile, because the value must match the fixed value defined in '{2}'",
    ),
    "SD_OBGLIGATION_INHERITS_PROFILE_NOT_RIGHT_TYPE": (
        "Le profil '{0}' n'est pas marqué comme profil d'obligations",
        "The profile '{0}' is not marked as an obligation profile",
    ),
    "SD_OBGLIGATION_INHERITS_PROFILE_NOT_RIGHT_BASE": (
        "Le profil '{0}' a pour base '{1}', différente de la base attendue '{2}'",
        "The profile '{0}' has a different base '{1}' from that expected '{2}'",
    ),
    "SNAPSHOT_TYPE_PROFILE_WRONG": (
        "Le profil {0} est pour le type {1}, mais l'élément {2} est de type {3}",
        "Profile {0} is for type {1}, but the {2} element has type {3}",
    ),
    "Validation_VAL_Profile_Unknown_MissingPackage": (
        "Le profil {0} n'a pas pu être vérifié : il appartient au package {1}, déclaré mais non disponible",
        "The profile {0} could not be checked: it belongs to the package {1}, declared but not available",
    ),
    "Validation_VAL_Profile_Unknown_Type": ("Profil inconnu {0}", "Unknown profile {0}"),
    "CapabalityStatement_CS_SP_WrongType": (
        "Types différents : le SearchParameter '{0}' est de type {1}, mais le type ici est {2}",
        "Type mismatch - SearchParameter '{0}' type is {1}, but type here is {2}",
    ),
    "SEARCHPARAMETER_TYPE_WRONG": (
        "Le type {0} diffère du type {1} du SearchParameter dont il dérive ({2})",
        "The type {0} is different to the type {1} in the derivedFrom SearchParameter {2}",
    ),
    "Reference_REF_Canonical_WrongType": (
        "L'URL canonique '{0}' désigne une ressource du mauvais type : {1} trouvé, attendu parmi {2}",
        "Canonical URL '{0}' refers to a resource that has the wrong type. Found {1} expecting one of {2}",
    ),
    "MEASURE_MR_M_NOTFOUND": (
        "La Measure {0} est introuvable : le rapport n'est pas vérifié contre elle",
        "The Measure {0} could not be resolved, so no validation can be performed against the Measure",
    ),
    "MEASURE_MR_GRP_NO_CODE": (
        "Le groupe devrait avoir un code correspondant à la définition de groupe de la Measure",
        "Group should have a code that matches the group definition in the measure",
    ),
    "MEASURE_MR_GRP_UNK_CODE": (
        "Le code de ce groupe ne correspond à aucun groupe de la Measure",
        "The code for this group has no match in the measure definition",
    ),
    "MEASURE_MR_GRP_DUPL_CODE": (
        "Le code de ce groupe est celui d'un groupe déjà trouvé",
        "The code for this group is duplicated with another group",
    ),
    "MEASURE_MR_GRP_NO_WRONG_CODE": (
        "Le code '{0}' ne correspond pas au code '{1}' de la Measure",
        "The code '{0}' does not match the code '{1}' of the measure",
    ),
    "MEASURE_MR_GRP_MISSING_BY_CODE": (
        "Le MeasureReport n'a pas de groupe pour le groupe de code '{0}'",
        "The MeasureReport does not include a group for the group with code '{0}'",
    ),
    "MEASURE_MR_GRP_POP_NO_CODE": (
        "La population devrait avoir un code correspondant à une population de la Measure",
        "Population should have a code that matches the population definition in the measure",
    ),
    "MEASURE_MR_GRP_POP_UNK_CODE": (
        "Le code de cette population ne correspond à aucune population de la Measure",
        "The code for this population has no match in the measure definition",
    ),
    "MEASURE_MR_GRP_POP_DUPL_CODE": (
        "Le code de cette population est celui d'une population déjà trouvée",
        "The code for this population is duplicated with another population",
    ),
    "MEASURE_MR_GRP_POP_COUNT_MISMATCH": (
        "Le compte {0} ne correspond pas au nombre de sujets {1}",
        "Mismatch between count {0} and number of subjects {1}",
    ),
    "MEASURE_MR_GRP_POP_NO_SUBJECTS": (
        "Les rapports dont le type n'est pas 'subject-list' ne listent pas de sujets",
        "Reports where type is not 'subject-list' don't have subjects listed",
    ),
    "MEASURE_MR_GRP_POP_NO_COUNT": (
        "Le compte devrait être présent pour les rapports dont le type n'est pas 'subject-list'",
        "Count should be present for reports where type is not 'subject-list'",
    ),
    "MEASURE_MR_SCORE_PROHIBITED_RT": (
        "Pas de measureScore quand le type du rapport est 'data-collection'",
        "No measureScore when the type of the report is 'data-collection'",
    ),
    "MEASURE_MR_SCORE_PROHIBITED_MS": (
        "Pas de measureScore quand le scoring de la Measure est '{0}'",
        "No measureScore when the scoring of the message is '{0}'",
    ),
    "MEASURE_MR_SCORE_REQUIRED": (
        "Un measureScore est requis quand Measure.scoring = {0}",
        "A measureScore is required when the Measure.scoring={0}",
    ),
    "MEASURE_MR_SCORE_VALUE_REQUIRED": (
        "Une valeur est requise quand Measure.scoring = {0}",
        "A value is required when the Measure.scoring = {0}",
    ),
    "MEASURE_MR_SCORE_UNIT_PROHIBITED": (
        "Pas d'unité quand Measure.scoring = {0}",
        "A measureScore for this Measure Scoring ({0}) should not have units",
    ),
    "MEASURE_MR_SCORE_VALUE_INVALID_01": (
        "La valeur est invalide : elle doit être comprise entre 0 et 1",
        "The value is invalid - it must be between 0 and 1",
    ),
    "Reference_REF_Format2": (
        "Les URL relatives doivent être de la forme [TypeRessource]/[id] (trouvé {0})",
        "Relative URLs must be of the format [ResourceName]/[id]. Encountered {0}",
    ),
    "Reference_REF_Suspicious": (
        "La syntaxe de la référence '{0}' semble incorrecte : à vérifier",
        "The syntax of the reference '{0}' looks incorrect, and it should be checked",
    ),
    "Type_Specific_Checks_DT_String_Length": (
        "La valeur dépasse la longueur maximale autorisée de 1 Mo (1048576 octets)",
        "value is longer than permitted maximum length of 1 MB (1048576 bytes)",
    ),
    "Reference_REF_NotValid": (
        "La référence '{0}' n'est pas une référence valide",
        "The reference '{0}' is not a valid reference",
    ),
    "Validation_VAL_Profile_Resource_WrongType": (
        "Le type '{0}' n'est pas valide ici : doit être {1}",
        "The type '{0}' is not valid - must be {1}",
    ),
    "BUNDLE_BUNDLE_ENTRY_FULLURL_REQUIRED": (
        "Hors transactions et batchs, chaque entrée d'un Bundle doit avoir un fullUrl, l'identité de sa ressource",
        "Except for transactions and batches, each entry in a Bundle must have a fullUrl which is the identity of the resource in the entry",
    ),
    "BUNDLE_ENTRY_URL_ABSOLUTE": (
        "Le fullUrl doit être une URL absolue (pas '{0}')",
        "The fullUrl must be an absolute URL (not '{0}')",
    ),
    "BUNDLE_ENTRY_URL_MATCHES_NO_ID": (
        "Le fullUrl '{0}' a la forme d'une URL de serveur REST : la ressource doit avoir un id",
        "The fullUrl '{0}' looks like a RESTful server URL, so the resource must have an id",
    ),
    "BUNDLE_ENTRY_URL_MATCHES_TYPE_ID": (
        "Le fullUrl '{0}' a la forme d'une URL de serveur REST mais ne correspond pas au type et à l'id de la ressource ({1}/{2})",
        "The fullUrl '{0}' looks like a RESTful server URL, but does not match the resource type and id ({1}/{2})",
    ),
    "PRIMITIVE_MUSTHAVEVALUE_MESSAGE": (
        "La définition d'élément ``{0}`` du profil '{1}' exige qu'une valeur soit présente dans cet élément",
        "The element definition ``{0}`` in the profile '{1}' requires that a value be present in this element",
    ),
    "PRIMITIVE_VALUE_ALTERNATIVES_MESSAGE": (
        "La définition d'élément ``{0}`` du profil '{1}' exige, en l'absence de valeur, la présence de l'extension '{2}'",
        "The element definition ``{0}`` in the profile '{1}' requires that if a value is not present, the extension '{2}' must be present",
    ),
    "Type_Specific_Checks_DT_INTEGER_LT": (
        "La valeur est inférieure au minimum autorisé ({0})",
        "value is less than permitted minimum value of {0}",
    ),
    "Type_Specific_Checks_DT_INTEGER_GT": (
        "La valeur est supérieure au maximum autorisé ({0})",
        "value is greater than permitted maximum value of {0}",
    ),
    "Type_Specific_Checks_DT_DECIMAL_LT": (
        "La valeur est inférieure au minimum autorisé ({0})",
        "value is less than permitted minimum value of {0}",
    ),
    "Type_Specific_Checks_DT_DECIMAL_GT": (
        "La valeur est supérieure au maximum autorisé ({0})",
        "value is greater than permitted maximum value of {0}",
    ),
    "Type_Specific_Checks_DT_DATE_LT": (
        "La valeur est antérieure au minimum autorisé ({0})",
        "value is less than permitted minimum value of {0}",
    ),
    "Type_Specific_Checks_DT_DATE_GT": (
        "La valeur est postérieure au maximum autorisé ({0})",
        "value is greater than permitted maximum value of {0}",
    ),
    "Type_Specific_Checks_DT_QTY_MIN_VALUE_WRONG": (
        "La valeur de l'instance ({0}) est inférieure à la valeur minimale spécifiée ({1})",
        "The value in the instance ({0}) is less than the specified minimum value ({1})",
    ),
    "Type_Specific_Checks_DT_QTY_MAX_VALUE_WRONG": (
        "La valeur de l'instance ({0}) est supérieure à la valeur maximale spécifiée ({1})",
        "The value in the instance ({0}) is greater than the specified maximum value ({1})",
    ),
    "Type_Specific_Checks_DT_QTY_MIN_VALUE_WRONG_UCUM": (
        "La valeur de l'instance ({0}) est inférieure à la valeur minimale spécifiée ({1}) après conversion UCUM",
        "The value in the instance ({0}) is less than the specified minValue ({1}) after UCUM conversion",
    ),
    "Type_Specific_Checks_DT_QTY_MAX_VALUE_WRONG_UCUM": (
        "La valeur de l'instance ({0}) est supérieure à la valeur maximale spécifiée ({1}) après conversion UCUM",
        "The value in the instance ({0}) is greater than the specified maxValue ({1}) after UCUM conversion",
    ),
    "XHTML_LANGUAGE_SECTIONS_PROHIBITED": (
        "Le XHTML a des sections de langue ({0}), mais le profil {1} les interdit dans ce contexte",
        "The xhtml has some language sections ({0}), but language sections are prohibited in this context by the profile {1}",
    ),
    "XHTML_LANGUAGE_SECTIONS_REQUIRED": (
        "Le XHTML n'a pas de section de langue, mais le profil {0} en exige dans ce contexte",
        "The xhtml has no language sections, but language sections are required in this context by the profile {0}",
    ),
    "XHTML_LANGUAGE_SECTION_MISSING": (
        "Le profil {0} exige une section du narratif pour la langue {1}, introuvable (trouvées : {2})",
        "The profile {0} requires a section in the narrative for the language ({1}), but it was not found (found {2})",
    ),
    "Unrecognised_property_": ("Propriété inconnue '{0}'", "Unrecognised property '{0}'"),
    "Resource_RES_ID_Malformed": ("Id de ressource invalide ('{0}')", "Invalid Resource id ('{0}')"),
    "Unable_to_find_resourceType_property": (
        "Propriété resourceType introuvable",
        "Unable to find resourceType property",
    ),
    "This_does_not_appear_to_be_a_FHIR_resource_unknown_name_": (
        "Ceci ne semble pas être une ressource FHIR (nom inconnu '{0}')",
        "This does not appear to be a FHIR resource (unknown name '{0}')",
    ),
    "Validation_VAL_Profile_NoDefinition": (
        "Aucune définition trouvée pour le type de ressource '{0}'",
        "No definition found for resource type '{0}'",
    ),
    "Error_parsing_JSON_": ("Erreur d'analyse JSON : {0}", "Error parsing JSON: {0}"),
    "Error_parsing_XML_": ("Erreur d'analyse XML : {0}", "Error parsing XML: {0}"),
    "This_property_must_be_an_Array_not_": (
        "La propriété {0} doit être un tableau JSON, pas {1}",
        "The property {0} must be a JSON Array, not {1}",
    ),
    "This_property_must_be_an_simple_value_not_": (
        "La propriété {0} doit être une valeur simple, pas {1}",
        "This property must be an simple value, not {1} ({0})",
    ),
    "This_property_must_be_an_object_not_": (
        "La propriété {0} doit être un objet, pas {1}",
        "This property must be an object, not {1} ({0})",
    ),
    "This_property_must_be__not_": (
        "La propriété {0} doit être {1}, pas {2}",
        "The property {0} must be {1}, not {2}",
    ),
    "Object_must_have_some_content": ("L'objet doit avoir un contenu", "Object must have some content"),
    "Array_cannot_be_empty": (
        "Un tableau ne peut pas être vide : la propriété ne doit pas être présente si elle n'a pas de valeur",
        "Array cannot be empty - the property should not be present if it has no values",
    ),
    "Type_Specific_Checks_DT_Primitive_NotEmpty": ("@value ne peut pas être vide", "@value cannot be empty"),
    "Type_Specific_Checks_DT_Primitive_ValueExt": (
        "Les types primitifs doivent avoir une valeur ou des extensions",
        "Primitive types must have a value or must have child extensions",
    ),
    "primitive": ("Valeur invalide pour le type {0} : {1}", "{1}"),
    "Validation_VAL_Profile_Minimum": (
        "{0} : minimum requis = {1}, mais seulement {2} trouvé(s) (profil {3})",
        "{0}: minimum required = {1}, but only found {2} (from {3})",
    ),
    "Validation_VAL_Profile_Maximum": (
        "{0} : maximum autorisé = {1}, mais {2} trouvé(s) (profil {3})",
        "{0}: max allowed = {1}, but found {2} (from {3})",
    ),
    "_DT_Fixed_Wrong": ("La valeur est '{0}' mais doit être '{1}'", "Value is '{0}' but must be '{1}'"),
    "Profile_VAL_MissingElement": (
        "Élément manquant '{0}' : requis par la valeur fixe/motif du profil {1}",
        "Missing element '{0}' - required by fixed value assigned in profile {1}",
    ),
    "Profile_VAL_NotAllowed": (
        "L'élément {0} est présent dans l'instance mais absent de la valeur fixe imposée par le profil {1}",
        "The element {0} is present in the instance but not allowed in the applicable fixed value specified in profile {1}",
    ),
    "Validation_VAL_Profile_NotSlice": (
        "Cet élément ne correspond à aucune tranche (slice) connue {0} et le découpage est fermé : {1}",
        "This element does not match any known slice {0} and slicing is CLOSED: {1}",
    ),
    "This_element_does_not_match_any_known_slice_": (
        "Cet élément ne correspond à aucune tranche (slice) connue du profil {0}",
        "This element does not match any known slice for the profile {0}",
    ),
    "Validation_VAL_Profile_SliceOrder": (
        "Selon le profil {0}, l'élément '{1}' n'est pas dans l'ordre du découpage ordonné",
        "As specified by profile {0}, Element '{1}' is out of order in ordered slice",
    ),
    "Validation_VAL_Profile_OpenAtEnd": (
        "Selon le profil {0}, l'élément '{1}' ne correspond à aucune tranche et doit être placé à la fin",
        "As specified by profile {0}, Element '{1}' does not match a slice and must come after the slices (openAtEnd)",
    ),
    "Extension_EXT_Unknown": ("Extension inconnue {0}", "Unknown extension {0}"),
    "Extension_EXT_Unknown_NotHere": (
        "L'extension {0} est inconnue et n'est pas autorisée ici",
        "The extension {0} is unknown, and not allowed here",
    ),
    "Extension_EXT_Unknown_MissingPackage": (
        "L'extension {0} n'a pas pu être vérifiée : elle appartient au package {1}, déclaré mais non disponible",
        "The extension {0} could not be checked: it belongs to the package {1}, declared but not available",
    ),
    "Extension_EXT_Type": (
        "La définition de l'extension '{0}' autorise les types {1} mais le type {2} a été trouvé",
        "The Extension '{0}' definition allows for the types {1} but found type {2}",
    ),
    "Extension_EXT_Simple": (
        "L'extension '{0}' est simple : elle doit porter une valeur, pas des extensions",
        "The Extension '{0}' definition is for a simple extension, so it must contain a value, not extensions",
    ),
    "Extension_EXT_SubExtension_Invalid": (
        "La sous-extension '{0}' n'est pas définie par l'extension {1}",
        "Sub-extension url '{0}' is not defined by the Extension {1}",
    ),
    "Extension_EXTP_Context_Wrong": (
        "L'extension {0} n'est pas autorisée à cet endroit (autorisé = {1} ; cet élément est {2})",
        "The extension {0} is not allowed to be used at this point (allowed = {1}; this element is {2})",
    ),
    "Extension_EXT_Modifier_N": (
        "L'extension '{0}' ne doit pas être utilisée comme extension (c'est une modifierExtension)",
        "The Extension '{0}' must not be used as an extension (it's a modifierExtension)",
    ),
    "Extension_EXT_Modifier_Y": (
        "L'extension '{0}' doit être utilisée comme modifierExtension",
        "The Extension '{0}' must be used as a modifierExtension",
    ),
    "Terminology_TX_NoValid_1_CC": (
        "Aucun des codages fournis n'appartient au jeu de valeurs {0}, et un codage de ce jeu est requis (codes = {1})",
        "None of the codings provided are in the value set {0}, and a coding from this value set is required (codes = {1})",
    ),
    "Terminology_TX_NoValid_2_CC": (
        "Aucun des codages fournis n'appartient au jeu de valeurs {0}, et un codage devrait en provenir sauf s'il n'a pas de code adapté (codes = {1})",
        "None of the codings provided are in the value set {0}, and a coding should come from this value set unless it has no suitable code (note that the validator cannot judge what is suitable) (codes = {1})",
    ),
    "Terminology_TX_NoValid_3_CC": (
        "Aucun des codages fournis n'appartient au jeu de valeurs {0}, et il est recommandé qu'un codage en provienne (codes = {1})",
        "None of the codings provided are in the value set {0}, and a coding is recommended to come from this value set (codes = {1})",
    ),
    "Terminology_TX_NoValid_12": (
        "Le codage fourni ({1}) n'appartient pas au jeu de valeurs {0}, et un code de ce jeu est requis",
        "The Coding provided ({1}) is not in the value set {0}, and a code is required from this value set",
    ),
    "Terminology_TX_NoValid_13": (
        "Le codage fourni ({1}) n'appartient pas au jeu de valeurs {0}, et un code devrait en provenir sauf s'il n'a pas de code adapté",
        "The Coding provided ({1}) is not in the value set {0}, and a code should come from this value set unless it has no suitable code (note that the validator cannot judge what is suitable)",
    ),
    "Terminology_TX_NoValid_14": (
        "Le codage fourni ({1}) n'appartient pas au jeu de valeurs {0}, et il est recommandé qu'un code en provienne",
        "The Coding provided ({1}) is not in the value set {0}, and a code is recommended to come from this value set",
    ),
    "Terminology_TX_NoValid_16": (
        "La valeur fournie ('{1}') n'appartient pas au jeu de valeurs {0}, et un code de ce jeu est requis",
        "The value provided ('{1}') is not in the value set {0}, and a code is required from this value set",
    ),
    "Terminology_TX_NoValid_17": (
        "La valeur fournie ('{1}') n'appartient pas au jeu de valeurs {0}, et un code devrait en provenir sauf s'il n'a pas de code adapté",
        "The value provided ('{1}') is not in the value set {0}, and a code should come from this value set unless it has no suitable code (note that the validator cannot judge what is suitable)",
    ),
    "Terminology_TX_NoValid_18": (
        "La valeur fournie ('{1}') n'appartient pas au jeu de valeurs {0}, et il est recommandé qu'un code en provienne",
        "The value provided ('{1}') is not in the value set {0}, and a code is recommended to come from this value set",
    ),
    "Terminology_TX_ValueSet_NotFound": (
        "Jeu de valeurs {0} introuvable dans les packages chargés : le code ({1}) n'a pas pu être vérifié",
        "ValueSet {0} not found by validator: the code ({1}) could not be checked",
    ),
    "Terminology_TX_NotChecked": (
        "Le code ({1}) n'a pas pu être vérifié dans le jeu de valeurs {0} : non disponible localement : {2}",
        "The code ({1}) could not be checked against the value set {0}: not available locally: {2}",
    ),
    "Terminology_TX_Code_Unknown": (
        "Code inconnu '{1}' dans le système de codes '{0}'",
        "Unknown code '{1}' in the CodeSystem '{0}'",
    ),
    "Terminology_TX_Code_ValueSet": (
        "Aucun code fourni, alors qu'un code du jeu de valeurs {0} est requis",
        "No code provided, and a code is required from the value set {0}",
    ),
    "Terminology_TX_System_Relative": (
        "Coding.system doit être une référence absolue, pas locale",
        "Coding.system must be an absolute reference, not a local reference",
    ),
    "Type_Specific_Checks_DT_Identifier_System": (
        "Identifier.system doit être une référence absolue, pas locale",
        "Identifier.system must be an absolute reference, not a local reference",
    ),
    "invariant": ("Contrainte {0} non respectée : {1} [{2}]", "Constraint {0} failed: {1} [{2}]"),
    "Reference_REF_Format1": (
        "Les URL relatives doivent être de la forme [TypeRessource]/[id] (trouvé {0})",
        "Relative URLs must be of the format [ResourceName]/[id], or a search URL is allowed ([type]?parameters. Encountered {0})",
    ),
    "Reference_REF_BadTargetType": (
        "Type de ressource cible invalide : {0} trouvé, mais attendu parmi ({1})",
        "Invalid Resource target type. Found {0}, but expected one of ({1})",
    ),
    "Reference_REF_ResourceType": (
        "La référence {0} désigne une ressource {1} qui ne correspond pas au type indiqué",
        "Matching reference for reference {0} has resourceType {1}",
    ),
    "Reference_REF_NotFound_Bundle": (
        "Référence locale ou contenue introuvable dans le bundle/la ressource : {0}",
        "Bundled or contained reference not found within the bundle/resource {0}",
    ),
    "Reference_REF_CantResolve": ("Impossible de résoudre la ressource '{0}'", "Unable to resolve resource '{0}'"),
    "Bundle_BUNDLE_Entry_IdUrlMismatch": (
        "L'id de la ressource ne correspond pas à l'id du fullUrl de l'entrée ('{0}' vs '{1}')",
        "Resource ID does not match the ID in the entry full URL ('{0}' vs '{1}')",
    ),
    "Bundle_BUNDLE_Entry_NoFullUrl": ("Entrée de bundle sans fullUrl", "Bundle entry missing fullUrl"),
    "Bundle_BUNDLE_Not_Local": (
        "La référence URN n'est pas contenue dans le bundle : {0}",
        "URN reference is not locally contained within the bundle {0}",
    ),
    "Bundle_BUNDLE_MultipleMatches": (
        "Plusieurs entrées du bundle correspondent à la référence {0}",
        "Multiple matches in bundle for reference {0}",
    ),
    "Validation_VAL_Profile_Unknown": (
        "Le profil '{0}' n'a pas été vérifié car il est inconnu (absent des packages chargés{1})",
        "Profile reference '{0}' has not been checked because it is unknown (not in the loaded packages{1})",
    ),
    "Validation_VAL_Unknown_Profile": (
        "Profil inconnu {0} : introuvable dans les packages chargés{1}",
        "Unknown profile {0}: not found in the loaded packages{1}",
    ),
    "Validation_VAL_Profile_WrongType": (
        "Le profil {0} s'applique au type {1}, pas à {2}",
        "Profile {0} is for type {1}, not {2}",
    ),
    "XHTML_XHTML_Name_Invalid": (
        "Nom invalide pour le XHTML ('{0}') : doit commencer par div",
        "Wrong name on the XHTML ('{0}') - must start with div",
    ),
    "XHTML_XHTML_NS_InValid": (
        "Espace de noms incorrect pour le XHTML ('{0}', devrait être 'http://www.w3.org/1999/xhtml')",
        "Wrong namespace on the XHTML ('{0}', should be 'http://www.w3.org/1999/xhtml')",
    ),
    "Error_parsing_XHTML_": ("Erreur d'analyse du XHTML : {0}", "Error parsing XHTML: {0}"),
    "XHTML_XHTML_Element_Illegal": (
        "Élément interdit dans le XHTML ('{0}')",
        "Illegal element name in the XHTML ('{0}')",
    ),
    "XHTML_XHTML_Attribute_Illegal": (
        "Attribut interdit dans le XHTML ('{0}' sur '{1}')",
        "Illegal attribute name in the XHTML ('{0}' on '{1}')",
    ),
    "Terminology_TX_System_NotKnown": (
        "Le système de codes '{0}' est inconnu : le code n'a pas pu être vérifié",
        "Code System URI '{0}' is unknown so the code cannot be validated",
    ),
    "Terminology_TX_System_ValueSet2": (
        "Le Coding référence un jeu de valeurs, pas un système de codes ('{0}')",
        "The Coding references a value set, not a code system ('{0}')",
    ),
    "TYPE_SPECIFIC_CHECKS_DT_ATT_SIZE_CORRECT": (
        "La taille déclarée de la pièce jointe ({0}) ne correspond pas à sa taille réelle ({1})",
        "Stated Attachment Size {0} does not match actual attachment size {1}",
    ),
    "Terminology_TX_System_Invalid": ("URI de système invalide : {0}", "Invalid System URI: {0}"),
    "Bundle_BUNDLE_Entry_NotFound": ("'{0}' est introuvable dans le bundle", "Can't find '{0}' in the bundle"),
    "Type_Specific_Checks_DT_Primitive_Length": (
        "La valeur dépasse la longueur maximale autorisée de {0}",
        "value is longer than permitted maximum length of {0}",
    ),
    "Type_Specific_Checks_DT_Primitive_Regex": (
        "La valeur '{0}' ne respecte pas l'expression régulière '{1}'",
        "Element value '{0}' does not meet regex '{1}'",
    ),
    "Reference_REF_TypeMismatch": (
        "Le type indiqué '{0}' ne correspond pas au type trouvé '{1}'",
        "The specified type '{0}' does not match the found type '{1}'",
    ),
    "Validation_VAL_Profile_NoType": (
        "Le type de l'élément {0} est inconnu ; types valides ici : {1}",
        "The type of element {0} is not known, which is illegal. Valid types at this point are {1}",
    ),
    "FHIRPATH_NOT_EVALUATED": (
        "La contrainte {0} n'a pas pu être évaluée par le moteur FHIRPath : {1}",
        "The constraint {0} could not be evaluated by the FHIRPath engine: {1}",
    ),
    # Questionnaire / QuestionnaireResponse
    "Questionnaire_QR_Q_NotFound": (
        "Le questionnaire '{0}' est introuvable : les réponses ne peuvent pas être vérifiées",
        "The questionnaire '{0}' could not be resolved, so no validation can be performed against the base questionnaire",
    ),
    "Questionnaire_QR_Item_NoLinkId": (
        "Aucun linkId : l'item ne peut pas être vérifié",
        "No LinkId, so can't be validated",
    ),
    "Questionnaire_QR_Item_NotFound": (
        "Le linkId '{0}' n'existe pas dans le questionnaire",
        "LinkId '{0}' not found in questionnaire",
    ),
    "Questionnaire_QR_Item_WrongPlace": (
        "Erreur de structure : l'item de linkId {0} n'est pas à sa place",
        "Structural Error: item with linkid {0} is in the wrong place",
    ),
    "Questionnaire_QR_Item_Order": (
        "Erreur de structure : les items ne sont pas dans l'ordre du questionnaire",
        "Structural Error: items are out of order",
    ),
    "Questionnaire_QR_Item_OnlyOneI": (
        "Un seul item de linkId '{0}' est permis",
        "Only one response item with this linkId allowed - {0}",
    ),
    "Questionnaire_QR_Item_OnlyOneA": (
        "Une seule réponse est permise pour cet item",
        "Only one response answer item with this linkId allowed",
    ),
    "Questionnaire_QR_Item_NotEnabled2": (
        "L'item a une réponse alors qu'il n'est pas activé (linkId '{0}')",
        "Item has answer, even though it is not enabled (item id = '{0}')",
    ),
    "Questionnaire_QR_Item_Missing": (
        "Aucune réponse pour l'item obligatoire '{0}'",
        "No response answer found for required item '{0}'",
    ),
    "Questionnaire_QR_Item_Text": (
        "Le texte de l'item '{0}' diffère de celui du questionnaire",
        "If text exists, it must match the questionnaire definition for linkId {0}",
    ),
    "Questionnaire_QR_Item_Group": (
        "Les items de type {0} ne doivent pas avoir de réponse",
        "Items of type {0} should not have answers",
    ),
    "Questionnaire_QR_Item_Display_No_Value": (
        "Les items de type « display » ne peuvent pas avoir de réponse",
        "Items of type 'display' cannot have answers",
    ),
    "Questionnaire_QR_Item_Display": (
        "Les items de type « display » ne doivent pas avoir de sous-items (linkId {0})",
        "Items of type DISPLAY should not have items - linkId {0}",
    ),
    "Questionnaire_QR_Item_Group_Answer": (
        "Les items qui ne sont pas des groupes ne doivent pas avoir de sous-items hors des réponses (linkId {0})",
        "Items not of type group should not have items outside answers (use answer.item not .item) - linkId {0}",
    ),
    "Questionnaire_QR_Item_Group_Required": (
        "Ce groupe est obligatoire mais n'a aucun item",
        "This group is required but has no items",
    ),
    "Questionnaire_QR_Item_Max_Occurs": (
        "Le nombre maximal de réponses est {0}, celle-ci en a {1}",
        "The maximum number of answers is {0} but this has {1} answers",
    ),
    "Questionnaire_QR_Item_Min_Occurs": (
        "Le nombre minimal de réponses est {0}, celle-ci en a {1}",
        "The minimum number of answers is {0} but this has {1} answers",
    ),
    "Questionnaire_QR_Item_WrongType": (
        "La réponse doit être de type {0}, pas {1}",
        "Answer value must be of the type {0} not {1}",
    ),
    "Questionnaire_QR_Item_Decimal_Min": (
        "La valeur {0} est inférieure au minimum permis ({1})",
        "The value {0} is less than the allowed minimum of {1}",
    ),
    "Questionnaire_QR_Item_Decimal_Max": (
        "La valeur {0} est supérieure au maximum permis ({1})",
        "The value {0} is greater than the allowed maximum of {1}",
    ),
    "Questionnaire_QR_Item_Integer_Min": (
        "La valeur {0} est inférieure au minimum permis ({1})",
        "The value {0} is less than the allowed minimum of {1}",
    ),
    "Questionnaire_QR_Item_Integer_Max": (
        "La valeur {0} est supérieure au maximum permis ({1})",
        "The value {0} is greater than the allowed maximum of {1}",
    ),
    "Questionnaire_QR_Item_Date_Min": (
        "La valeur {0} est antérieure au minimum permis ({1})",
        "The value {0} is less than the allowed minimum of {1}",
    ),
    "Questionnaire_QR_Item_Date_Max": (
        "La valeur {0} est postérieure au maximum permis ({1})",
        "The value {0} is greater than the allowed maximum of {1}",
    ),
    "Questionnaire_QR_Item_Decimal_Max_Decimals": (
        "La valeur {0} a trop de décimales (limite : {1})",
        "The value {0} has too many decimal places (limit = {1})",
    ),
    "Questionnaire_QR_Item_String_Min_Length": (
        "La réponse '{0}' est trop courte (longueur minimale : {1})",
        "The answer '{0}' is too short (minimum length = {1})",
    ),
    "Questionnaire_QR_Item_String_Max_Length": (
        "La réponse '{0}' est trop longue (longueur maximale : {1})",
        "The answer '{0}' is too long (maximum length = {1})",
    ),
    "Questionnaire_QR_Item_String_Regex": (
        "La réponse '{0}' ne respecte pas l'expression régulière '{1}'",
        "The answer '{0}' does not conform to the regex '{1}'",
    ),
    "Questionnaire_QR_Item_String_Regex_EF": (
        "La réponse '{0}' ne respecte pas le format attendu '{2}' (expression régulière '{1}')",
        "The answer '{0}' does not conform to the expected format '{2}' (regex '{1}')",
    ),
    "Questionnaire_QR_Item_String_Illegal_Chars": (
        "La réponse ne devrait pas contenir de retour à la ligne",
        "The answer should not contain new line characters",
    ),
    "Questionnaire_QR_Item_Not_Attachment_MimeType": (
        "La pièce jointe n'indique pas son type MIME",
        "The attachment has no mime type",
    ),
    "Questionnaire_QR_Item_Bad_Attachment_MimeType": (
        "Le type MIME {0} n'est pas permis pour cette réponse (permis : {1})",
        "The mime type {0} is not valid for this answer (allowed = {1})",
    ),
    "Questionnaire_QR_Item_Bad_Attachment_Length": (
        "La pièce jointe est trop grande (permis : {0}, trouvé : {1})",
        "The attachment is too large (allowed = {0}, found = {1})",
    ),
    "Questionnaire_QR_Item_Decimal_Cannot_Compare_Min_Units": (
        "La quantité {1} ne peut pas être comparée au minimum permis {0} : unités non codées",
        "The quantity {1} cannot be compared to the allowed minimum of {0} because no formal units are specified",
    ),
    "Questionnaire_QR_Item_Decimal_Cannot_Compare_Max_Units": (
        "La quantité {1} ne peut pas être comparée au maximum permis {0} : unités non codées",
        "The quantity {1} cannot be compared to the allowed maximum of {0} because no formal units are specified",
    ),
    "Questionnaire_QR_Item_Decimal_Cannot_Compare_Min": (
        "La quantité {1} ne peut pas être comparée au minimum permis {0} : unités différentes",
        "The quantity {1} cannot be compared to the allowed minimum of {0}",
    ),
    "Questionnaire_QR_Item_Decimal_Cannot_Compare_Max": (
        "La quantité {1} ne peut pas être comparée au maximum permis {0} : unités différentes",
        "The quantity {1} cannot be compared to the allowed maximum of {0}",
    ),
    "Questionnaire_QR_Item_Quantity_Min": (
        "La quantité {0} est inférieure au minimum permis ({1})",
        "The quantity {0} is less than the allowed minimum of {1}",
    ),
    "Questionnaire_QR_Item_Quantity_Max": (
        "La quantité {0} est supérieure au maximum permis ({1})",
        "The quantity {0} is greater than the allowed maximum of {1}",
    ),
    "Questionnaire_QR_Item_NoOptions": (
        "Les options ne peuvent pas être vérifiées : le questionnaire n'en donne aucune",
        "Cannot validate options because no option or options are provided",
    ),
    "Questionnaire_QR_Item_StringNoOptions": (
        "Réponse texte non vérifiable : le questionnaire ne donne pas de liste d'options",
        "Cannot validate string answer option because no option list is provided",
    ),
    "Questionnaire_QR_Item_IntNoOptions": (
        "Réponse entière non vérifiable : le questionnaire ne donne pas de liste d'options",
        "Cannot validate integer answer option because no option list is provided",
    ),
    "Questionnaire_QR_Item_DateNoOptions": (
        "Réponse date non vérifiable : le questionnaire ne donne pas de liste d'options",
        "Cannot validate date answer option because no option list is provided",
    ),
    "Questionnaire_QR_Item_TimeNoOptions": (
        "Réponse heure non vérifiable : le questionnaire ne donne pas de liste d'options",
        "Cannot validate time answer option because no option list is provided",
    ),
    "Questionnaire_QR_Item_NoOptionsCoding": (
        "La liste d'options ne contient aucune valeur de type Coding",
        "Option list has no option values of type coding",
    ),
    "Questionnaire_QR_Item_NoCoding": (
        "Le code {0}::{1} ne fait pas partie des valeurs permises",
        "The code {0}::{1} is not in the set of permitted values",
    ),
    "Questionnaire_QR_Item_Exclusive": (
        "La réponse {0} est exclusive : aucune autre ne peut être choisie en même temps",
        "Selected answer {0} is an exclusive option - can't select anything else at the same time",
    ),
    "Questionnaire_QR_Item_BadOption": (
        "Le code '{1}' du système '{0}' n'est pas dans le jeu de valeurs des options ({2}) du questionnaire",
        "The code '{1}' in the system '{0}' is not in the options value set ({2}) specified by the questionnaire",
    ),
    "Extension_EXTP_Context_Invariant": (
        "L'extension {0} n'est pas autorisée ici (invariant de contexte « {1} » non respecté)",
        "The extension {0} is not allowed to be used at this point (based on context invariant '{1}')",
    ),
    "Terminology_TX_ValueSet_NotFound2": ("Jeu de valeurs '{0}' introuvable", "ValueSet '{0}' not found"),
    "Questionnaire_QR_Item_NoOptionsString": (
        "La liste d'options ne contient aucune valeur de type texte",
        "Option list has no option values of type string",
    ),
    "Questionnaire_QR_Item_NoString": (
        "La réponse {0} ne fait pas partie des options permises",
        "The string {0} is not a valid option",
    ),
    "Questionnaire_QR_Item_NoOptionsInteger": (
        "La liste d'options ne contient aucune valeur de type entier",
        "Option list has no option values of type integer",
    ),
    "Questionnaire_QR_Item_NoInteger": (
        "La réponse {0} ne fait pas partie des options permises",
        "The integer {0} is not a valid option",
    ),
    "Questionnaire_QR_Item_NoOptionsDate": (
        "La liste d'options ne contient aucune valeur de type date",
        "Option list has no option values of type date",
    ),
    "Questionnaire_QR_Item_NoDate": (
        "La réponse {0} ne fait pas partie des options permises",
        "The date {0} is not a valid option",
    ),
    "Questionnaire_QR_Item_NoOptionsTime": (
        "La liste d'options ne contient aucune valeur de type heure",
        "Option list has no option values of type time",
    ),
    "Questionnaire_QR_Item_NoTime": (
        "La réponse {0} ne fait pas partie des options permises",
        "The time {0} is not a valid option",
    ),
    "Questionnaire_QR_Item_NoOptionsDecimal": (
        "La liste d'options ne contient aucune valeur de type décimal",
        "Option list has no option values of type decimal",
    ),
    "Questionnaire_QR_Item_NoDecimal": (
        "La réponse {0} ne fait pas partie des options permises",
        "The decimal {0} is not a valid option",
    ),
}


def texts(rule: str, *args: Any) -> tuple[str, str]:
    fr, en = MESSAGES[rule]
    values = [str(a) for a in args]
    return fr.format(*values), en.format(*values)
