"""Pod Security admission (kube's pod-security-admission, 1.32): the policy checks and the
namespace labels as pure code, and the admission plugin that applies them."""
