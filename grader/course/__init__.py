"""Course policy: course.yaml loaded, validated strictly, and the rules it sets (late penalty, tolerances)."""
