//! A carrier's faults (`[[faults]]`): which one fires for a message it receives, sends or does.

use lnp_model::MsgKind;

use super::Carrier;
use crate::config::FaultAction;

impl Carrier {
    pub(super) fn take_fault(&mut self, kind: MsgKind, receive: bool) -> Option<FaultAction> {
        let f = self
            .faults
            .iter_mut()
            .find(|f| f.on.is_none_or(|k| k == kind) && f.action.on_receive() == receive && f.remaining != Some(0))?;
        if let Some(r) = f.remaining.as_mut() {
            *r -= 1;
        }
        Some(f.action)
    }

    pub(super) fn peek_shift(&mut self, kind: MsgKind) -> Option<FaultAction> {
        let has = self.faults.iter().any(|f| {
            f.on.is_none_or(|k| k == kind) && matches!(f.action, FaultAction::Shift(_)) && f.remaining != Some(0)
        });
        if has {
            self.take_fault(kind, false)
                .filter(|a| matches!(a, FaultAction::Shift(_)))
        } else {
            None
        }
    }

    pub(super) fn take_skip(&mut self, kind: MsgKind) -> Option<FaultAction> {
        let has = self
            .faults
            .iter()
            .any(|f| f.on.is_none_or(|k| k == kind) && f.action == FaultAction::Skip && f.remaining != Some(0));
        if has {
            self.take_fault_exact(kind, FaultAction::Skip)
        } else {
            None
        }
    }

    pub(super) fn take_fault_exact(&mut self, kind: MsgKind, action: FaultAction) -> Option<FaultAction> {
        let f = self
            .faults
            .iter_mut()
            .find(|f| f.on.is_none_or(|k| k == kind) && f.action == action && f.remaining != Some(0))?;
        if let Some(r) = f.remaining.as_mut() {
            *r -= 1;
        }
        Some(f.action)
    }
}
