//! Image preprocessing, matching the research code's torchvision pipeline exactly:
//! decode ([`decode`]) → `Resize((224, 224))` with PIL's bilinear filter ([`resize`]) →
//! `ToTensor` → `Normalize(mean, std)` ([`tensor`]).

pub mod decode;
pub mod resize;
pub mod tensor;
